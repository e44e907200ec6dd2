"""Products and services with their SAT keys and taxes."""
from ..catalog import CatalogRecord
from ..catalog import name_indexes
from ..dbtypes import Money
from ..extensions import db


class Product(CatalogRecord, db.Model):
    """A product or service of the catalog."""

    __tablename__ = "products"
    __table_args__ = name_indexes("products")
    SEARCH_FIELDS = ("name", "sku", "clave_prod_serv")

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
