"""Product operations: saving with an exact Decimal price."""
from ..extensions import db
from .models import Product

FIELDS = ("name", "sku", "clave_prod_serv", "clave_unidad", "unit_price", "objeto_imp", "iva",
          "ieps", "ret_isr", "ret_iva")


def apply(product, data, price):
    """Copy validated data onto a product."""
    for name in FIELDS:
        setattr(product, name, data.get(name) or None)
    product.unit_price = price
    product.refresh_search_text()
    return product


def save(product, data, price):
    """Create or update a product from validated data."""
    product = apply(product or Product(), data, price)
    db.session.add(product)
    db.session.commit()
    return product
