"""Customer operations: find, search, save, archive."""
from ..extensions import db
from ..sat.catalogs import GENERIC_RFCS
from ..sat.search import fold
from ..timeutil import utcnow
from .models import Customer

FIELDS = ("rfc", "name", "regimen", "uso_cfdi", "metodo_pago", "forma_pago", "credit_days",
          "partner_type", "cp", "email", "street", "exterior", "interior", "colonia",
          "municipio", "estado")
PAGE_SIZE = 25


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


def get(customer_id):
    """Return a customer or None."""
    return db.session.get(Customer, customer_id)


def search(text="", page=1, archived=False):
    """Return a page of customers matching name or RFC, accent-insensitive."""
    query = db.select(Customer)
    query = query.where(Customer.archived_at.isnot(None) if archived
                        else Customer.archived_at.is_(None))
    for word in fold(text).split()[:5]:
        query = query.where(Customer.search_text.contains(word, autoescape=True))
    query = query.order_by(Customer.name, Customer.id)
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)


def apply(customer, data):
    """Copy validated form data onto a customer (new or existing)."""
    for name in FIELDS:
        value = data.get(name)
        setattr(customer, name, value if value != "" else None)
    customer.email = customer.email or None
    customer.refresh_search_text()
    return customer


def create(data):
    """Create a customer from validated data."""
    customer = apply(Customer(), data)
    db.session.add(customer)
    db.session.commit()
    return customer


def update(customer, data):
    """Save validated data on an existing customer."""
    apply(customer, data)
    db.session.commit()
    return customer


def set_archived(customer, archived):
    """Archive or restore a customer; its invoices are untouched."""
    customer.archived_at = utcnow() if archived else None
    db.session.commit()


def export_rows():
    """Every customer (archived too) as dicts of form fields, for CSV export."""
    query = db.session.query(Customer).order_by(Customer.name, Customer.id)
    for customer in query.yield_per(500):
        yield {name: getattr(customer, name) for name in FIELDS}
