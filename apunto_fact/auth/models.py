"""The people who can sign in, what they did, and the first-run marker."""
from flask_login import UserMixin

from ..extensions import db
from ..timeutil import utcnow


class User(UserMixin, db.Model):
    """An account of the app: an owner (dueño), a bookkeeper (contador) or a clerk."""

    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), nullable=False, unique=True)
    password_hash = db.Column(db.String(255), nullable=False)
    failed_logins = db.Column(db.Integer, nullable=False, default=0)
    locked_until = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    role = db.Column(db.String(20), nullable=False, default="dueno", server_default="dueno")
    active = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())
    # Bumped on logout, password change, reset and disable: every older session stops.
    session_version = db.Column(db.Integer, nullable=False, default=1, server_default="1")

    @property
    def is_active(self):
        """Flask-Login refuses sessions of disabled accounts."""
        return bool(self.active)

    def get_id(self):
        """The session carries the version, so bumping it ends every older session."""
        return f"{self.id}:{self.session_version}"


class FirstRun(db.Model):
    """One row once the first owner exists: the primary key makes first run happen once."""

    __tablename__ = "first_run"

    id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)


class UserAction(db.Model):
    """Who stamped, cancelled or changed settings or accounts, and when."""

    __tablename__ = "user_actions"

    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    username = db.Column(db.String(80), nullable=False)
    action = db.Column(db.String(80), nullable=False)
    invoice_id = db.Column(db.Integer, db.ForeignKey("invoices.id", ondelete="SET NULL"),
                           index=True)
    detail = db.Column(db.String(200))
