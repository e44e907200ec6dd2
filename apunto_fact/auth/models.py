"""The people who can sign in."""
from flask_login import UserMixin

from ..extensions import db
from ..timeutil import utcnow


class User(UserMixin, db.Model):
    """An account of the app (the owner, a bookkeeper)."""

    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), nullable=False, unique=True)
    password_hash = db.Column(db.String(255), nullable=False)
    failed_logins = db.Column(db.Integer, nullable=False, default=0)
    locked_until = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
