"""Stored settings: the Alegra connection (one row)."""
from ..catalog import AddressColumns
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
    # When «Revisar mi cuenta de Alegra» last found nothing blocking (reset with credentials).
    diagnostic_ok_at = db.Column(db.DateTime)


class Company(AddressColumns, db.Model):
    """The emisor's fiscal data (one row): what every invoice is issued with."""

    __tablename__ = "company"

    id = db.Column(db.Integer, primary_key=True)
    rfc = db.Column(db.String(13), nullable=False)
    name = db.Column(db.String(300), nullable=False)
    regimen = db.Column(db.String(3), nullable=False)
    cp = db.Column(db.String(5), nullable=False)
