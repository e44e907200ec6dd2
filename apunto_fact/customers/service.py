"""Customer operations: uniqueness of the RFC, saving."""
from ..extensions import db
from ..sat.catalogs import GENERIC_RFCS
from .models import Customer

FIELDS = ("rfc", "name", "regimen", "uso_cfdi", "metodo_pago", "forma_pago", "credit_days",
          "partner_type", "cp", "email", "street", "exterior", "interior", "colonia",
          "municipio", "estado")


def rfc_taken(rfc, exclude_id=None):
    """Return the other customer holding this RFC (generic RFCs may repeat)."""
    if rfc in GENERIC_RFCS:
        return None
    query = db.session.query(Customer).filter(Customer.rfc == rfc)
    if exclude_id:
        query = query.filter(Customer.id != exclude_id)
    return query.first()


def rfc_owners():
    """Map every non-generic RFC to its customer (for checking many rows at once)."""
    query = db.session.query(Customer).filter(Customer.rfc.notin_(GENERIC_RFCS))
    return {c.rfc: c for c in query}


def apply(customer, data):
    """Copy validated form data onto a customer (new or existing)."""
    for name in FIELDS:
        value = data.get(name)
        setattr(customer, name, None if value == "" else value)
    customer.refresh_search_text()
    return customer


def save(customer, data):
    """Create or update a customer from validated data."""
    customer = apply(customer or Customer(), data)
    db.session.add(customer)
    db.session.commit()
    return customer
