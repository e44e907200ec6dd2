"""Stored settings: the Alegra connection (one row)."""
from ..extensions import db


class AlegraConnection(db.Model):
    """Credentials (token encrypted) and the last known connection status."""

    __tablename__ = "alegra_connection"

    id = db.Column(db.Integer, primary_key=True)
    environment = db.Column(db.String(20), nullable=False, default="sandbox")
    api_email = db.Column(db.String(254))
    token_encrypted = db.Column(db.Text)
    status = db.Column(db.String(20), nullable=False, default="unknown")
    status_message = db.Column(db.Text)
    status_http = db.Column(db.Integer)
    status_hint = db.Column(db.Text)
    status_checked_at = db.Column(db.DateTime)
    company_name = db.Column(db.String(300))
    company_rfc = db.Column(db.String(13))
