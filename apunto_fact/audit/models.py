"""The bitácora: one row per call to Alegra, never a credential."""
from ..extensions import db
from ..timeutil import utcnow


class AlegraCall(db.Model):
    """What was asked of Alegra and what it answered."""

    __tablename__ = "alegra_calls"

    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    method = db.Column(db.String(8), nullable=False)
    path = db.Column(db.String(200), nullable=False)
    status = db.Column(db.Integer)
    duration_ms = db.Column(db.Integer, nullable=False, default=0)
    code = db.Column(db.String(20))
    message = db.Column(db.Text)
    invoice_id = db.Column(db.Integer, db.ForeignKey("invoices.id", ondelete="SET NULL"),
                           index=True)


class AlegraRef(db.Model):
    """Cached Alegra ids that rarely change: tax, retention and numbering ids."""

    __tablename__ = "alegra_refs"

    kind = db.Column(db.String(20), primary_key=True)
    key = db.Column(db.String(40), primary_key=True)
    alegra_id = db.Column(db.String(40), nullable=False)
