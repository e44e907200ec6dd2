"""Drafts: build an invoice from the editor's data, save it, list and search invoices."""
from decimal import Decimal
from decimal import InvalidOperation

from sqlalchemy.orm import contains_eager

from ..catalog import page_of
from ..customers.models import Customer
from ..extensions import db
from ..products.models import Product
from ..sat.search import fold
from ..web import db_int
from .models import Invoice
from .models import InvoiceLine
from .totals import compute

SNAPSHOT = ("clave_prod_serv", "clave_unidad", "objeto_imp", "iva", "ieps", "ret_isr",
            "ret_iva")
PAGE_SIZE = 25


def _decimal(text, default=None):
    try:
        value = Decimal(str(text).replace(",", "").replace("$", "").strip())
        return value if value.is_finite() else default
    except (InvalidOperation, ValueError):
        return default


def customer_of(form):
    """The customer chosen in the form, or None."""
    try:
        customer_id = db_int(form.customer_id.data)
    except (TypeError, ValueError):
        return None
    return db.session.get(Customer, customer_id)


def product_of(line_form):
    """The catalog product of an editor line, or None when missing or unknown."""
    try:
        return db.session.get(Product, db_int(line_form.product_id.data))
    except (TypeError, ValueError):
        return None


def apply(invoice, form, customer):
    """Copy the editor's data onto invoice (persistent or transient) and its lines.

    SAT keys and taxes are copied from the product on the server: a crafted POST cannot
    change them. A line whose product disappeared keeps what it had.
    """
    with db.session.no_autoflush:
        invoice.customer = customer
        invoice.date = form.date.data
        invoice.currency = form.currency.data or "MXN"
        invoice.exchange_rate = _decimal(form.exchange_rate.data) \
            if invoice.currency != "MXN" else None
        invoice.uso_cfdi = form.uso_cfdi.data or ""
        invoice.metodo_pago = form.metodo_pago.data or ""
        invoice.forma_pago = form.forma_pago.data or ""
        invoice.observations = form.observations.data or None
        old = {line.position: line for line in invoice.lines}
        lines = []
        for position, entry in enumerate(form.lines):
            data = entry.form
            line = old.get(position) or InvoiceLine()
            product = product_of(data)
            line.position, line.product = position, product
            if product is not None:
                for name in SNAPSHOT:
                    setattr(line, name, getattr(product, name))
            line.description = data.description.data or (product.name if product else "")
            line.quantity = _decimal(data.quantity.data, Decimal(0))
            line.unit_price = _decimal(data.unit_price.data, Decimal(0))
            line.discount_pct = _decimal(data.discount_pct.data or "0", Decimal(0))
            lines.append(line)
        invoice.lines = lines
        totals = compute(invoice.lines)
        invoice.subtotal, invoice.discount = totals.subtotal, totals.discount
        invoice.taxes, invoice.retentions = totals.taxes_total, totals.retentions_total
        invoice.total = totals.total
    return totals


def save(invoice, form, customer):
    """Apply and persist a draft."""
    totals = apply(invoice, form, customer)
    db.session.add(invoice)
    db.session.commit()
    return totals


def line_from_product(product):
    """Editor data for a new line of product."""
    return {"product_id": product.id, "description": product.name, "quantity": "1",
            "unit_price": f"{product.unit_price}", "discount_pct": "0"}


def search(text="", status="", customer_id=None, since=None, until=None, page=1):
    """Return a page of invoices filtered by status, customer words, date range."""
    query = db.select(Invoice)
    words = fold(text).split()[:5]
    if words:
        # Join once and reuse the join for the eager load (no second join).
        query = query.join(Invoice.customer).options(contains_eager(Invoice.customer))
    if status:
        query = query.where(Invoice.status == status)
    if customer_id:
        query = query.where(Invoice.customer_id == customer_id)
    for word in words:
        query = query.where(Customer.search_text.contains(word, autoescape=True))
    if since:
        query = query.where(Invoice.date >= since)
    if until:
        query = query.where(Invoice.date <= until)
    query = query.order_by(Invoice.date.desc(), Invoice.id.desc())
    return page_of(query, page, PAGE_SIZE)
