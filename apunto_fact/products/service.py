"""Product operations: find, search, save, archive."""
from ..extensions import db
from ..sat.search import fold
from ..timeutil import utcnow
from .models import Product

FIELDS = ("name", "sku", "clave_prod_serv", "clave_unidad", "objeto_imp", "iva", "ieps",
          "ret_isr", "ret_iva")
PAGE_SIZE = 25


def get(product_id):
    """Return a product or None."""
    return db.session.get(Product, product_id)


def search(text="", page=1, archived=False):
    """Return a page of products matching name, code or SAT key."""
    query = db.select(Product)
    query = query.where(Product.archived_at.isnot(None) if archived
                        else Product.archived_at.is_(None))
    for word in fold(text).split()[:5]:
        query = query.where(Product.search_text.contains(word, autoescape=True))
    return db.paginate(query.order_by(Product.name, Product.id), page=page, per_page=PAGE_SIZE,
                       error_out=False)


def apply(product, data, price):
    """Copy validated data onto a product."""
    for name in FIELDS:
        setattr(product, name, data.get(name) or None)
    product.unit_price = price
    product.refresh_search_text()
    return product


def create(data, price):
    """Create a product from validated data."""
    product = apply(Product(), data, price)
    db.session.add(product)
    db.session.commit()
    return product


def update(product, data, price):
    """Save validated data on an existing product."""
    apply(product, data, price)
    db.session.commit()
    return product


def set_archived(product, archived):
    """Archive or restore a product; invoices that used it keep their lines."""
    product.archived_at = utcnow() if archived else None
    db.session.commit()


def export_rows():
    """Every product (archived too) as dicts of form fields, for CSV export."""
    query = db.session.query(Product).order_by(Product.name, Product.id)
    for product in query.yield_per(500):
        row = {name: getattr(product, name) for name in FIELDS}
        row["unit_price"] = product.unit_price
        yield row
