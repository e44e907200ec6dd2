"""Customers (receptores) with every CFDI 4.0 field."""
from ..catalog import AddressColumns
from ..catalog import CatalogRecord
from ..catalog import name_indexes
from ..extensions import db
from ..sat.catalogs import GENERIC_RFCS

_NOT_GENERIC = "rfc NOT IN ({})".format(", ".join(f"'{r}'" for r in GENERIC_RFCS))


class Customer(CatalogRecord, AddressColumns, db.Model):
    """A receptor; archived customers keep their invoices."""

    __tablename__ = "customers"
    __table_args__ = (
        # One customer per RFC, except the generic ones (público en general, extranjero).
        db.Index("uq_customers_rfc_not_generic", "rfc", unique=True,
                 sqlite_where=db.text(_NOT_GENERIC), postgresql_where=db.text(_NOT_GENERIC)),
        *name_indexes("customers"),
    )
    SEARCH_FIELDS = ("name", "rfc")

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
