"""Products and services with their SAT keys and taxes."""
from ..dbtypes import Money
from ..extensions import db
from ..sat.search import fold
from ..timeutil import utcnow


class Product(db.Model):
    """A catalog item; its Alegra id and fingerprint avoid re-registering it."""

    __tablename__ = "products"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False)
    sku = db.Column(db.String(100))
    clave_prod_serv = db.Column(db.String(8), nullable=False)
    clave_unidad = db.Column(db.String(3), nullable=False)
    unit_price = db.Column(Money, nullable=False)
    objeto_imp = db.Column(db.String(2), nullable=False, default="02")
    iva = db.Column(db.String(10))
    ieps = db.Column(db.String(10))
    ret_isr = db.Column(db.String(10))
    ret_iva = db.Column(db.String(10))
    search_text = db.Column(db.String(200), nullable=False, default="", index=True)
    archived_at = db.Column(db.DateTime, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    alegra_id = db.Column(db.String(40))
    alegra_fingerprint = db.Column(db.String(64))

    def refresh_search_text(self):
        """Keep the accent-free search column in step with name, SKU and SAT key."""
        self.search_text = f"{fold(self.name)} {fold(self.sku or '')} {self.clave_prod_serv}"
