"""Customers (receptores) with every CFDI 4.0 field."""
from ..extensions import db
from ..sat.catalogs import GENERIC_RFCS
from ..sat.search import fold
from ..timeutil import utcnow

_NOT_GENERIC = "rfc NOT IN ({})".format(", ".join(f"'{r}'" for r in GENERIC_RFCS))


class Customer(db.Model):
    """A receptor; archived customers keep their invoices."""

    __tablename__ = "customers"
    __table_args__ = (
        # One customer per RFC, except the generic ones (público en general, extranjero).
        db.Index("uq_customers_rfc_not_generic", "rfc", unique=True,
                 sqlite_where=db.text(_NOT_GENERIC), postgresql_where=db.text(_NOT_GENERIC)),
    )

    id = db.Column(db.Integer, primary_key=True)
    rfc = db.Column(db.String(13), nullable=False)
    name = db.Column(db.String(300), nullable=False)
    regimen = db.Column(db.String(3), nullable=False)
    uso_cfdi = db.Column(db.String(4), nullable=False)
    metodo_pago = db.Column(db.String(3), nullable=False)
    forma_pago = db.Column(db.String(2), nullable=False)
    credit_days = db.Column(db.Integer, nullable=False, default=0)
    partner_type = db.Column(db.String(10), nullable=False, default="cliente")
    cp = db.Column(db.String(5), nullable=False)
    email = db.Column(db.String(254))
    street = db.Column(db.String(200))
    exterior = db.Column(db.String(50))
    interior = db.Column(db.String(50))
    colonia = db.Column(db.String(200))
    municipio = db.Column(db.String(200))
    estado = db.Column(db.String(100))
    search_text = db.Column(db.String(400), nullable=False, default="", index=True)
    archived_at = db.Column(db.DateTime, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    alegra_id = db.Column(db.String(40))
    alegra_fingerprint = db.Column(db.String(64))

    def refresh_search_text(self):
        """Keep the accent-free search column in step with name and RFC."""
        self.search_text = f"{fold(self.name)} {self.rfc.lower()}"
