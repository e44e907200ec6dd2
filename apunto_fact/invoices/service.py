"""Drafts: build an invoice from the editor's data, save it, list and search invoices."""
import datetime
from dataclasses import dataclass
from decimal import Decimal
from decimal import InvalidOperation

import sqlalchemy as sa

from .. import fulltext
from ..customers.models import Customer
from ..extensions import db
from ..products.models import Product
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
    raw = form.customer_id.data
    return db.session.get(Customer, int(raw)) if raw and str(raw).isdigit() else None


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
            product = db.session.get(Product, data.product_id.data) \
                if data.product_id.data else None
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


@dataclass
class KeysetPage:
    """A page of a list walked by (date, id) cursors: as fast on page 4,000 as on page 1."""

    items: list
    has_next: bool
    has_prev: bool

    @property
    def next_cursor(self):
        """Cursor of the page after this one (older invoices)."""
        return cursor_of(self.items[-1]) if self.items else None

    @property
    def prev_cursor(self):
        """Cursor of the page before this one (newer invoices)."""
        return cursor_of(self.items[0]) if self.items else None


def cursor_of(invoice):
    """The (date, id) position of invoice as text for a URL: 2026-11-28.1234."""
    return f"{invoice.date.isoformat()}.{invoice.id}"


def parse_cursor(raw):
    """(date, id) from a URL cursor, or None when it does not parse."""
    day, _, number = (raw or "").partition(".")
    try:
        return datetime.date.fromisoformat(day), int(number)
    except ValueError:
        return None


def search(text="", status="", customer_id=None, since=None, until=None, after=None,
           before=None):
    """Return a page of invoices filtered by status, customer, words and dates.

    Words match serie-folio, UUID, customer name and RFC through the full-text index;
    after/before are (date, id) cursors; nothing counts the matching rows.
    """
    query = db.select(Invoice)
    words = fulltext.words(text)
    if words:
        dialect = db.engine.dialect.name
        few = None if customer_id else fulltext.few_ids(db.session, dialect, words)
        if few is not None:
            # A rare word (an RFC, a UUID, a folio): fetch those few and sort them.
            query = query.where(Invoice.id.in_(few))
        else:
            ids = fulltext.matching_ids(dialect, words).columns(sa.column("id", sa.Integer))
            query = query.where(Invoice.id.in_(ids))
        if few is None and not customer_id:
            # A common word: walk the invoices in list order and keep the matching ones
            # (a page fills within a few hundred rows) instead of sorting every match.
            query = query.with_hint(Invoice, "INDEXED BY ix_invoices_date_id", "sqlite")
    if status:
        query = query.where(Invoice.status == status)
    if customer_id:
        query = query.where(Invoice.customer_id == customer_id)
    if since:
        query = query.where(Invoice.date >= since)
    if until:
        query = query.where(Invoice.date <= until)
    key = sa.tuple_(Invoice.date, Invoice.id)
    if before:
        query = query.where(key > before).order_by(Invoice.date, Invoice.id)
        rows = db.session.scalars(query.limit(PAGE_SIZE + 1)).all()
        return KeysetPage(items=rows[:PAGE_SIZE][::-1], has_next=True,
                          has_prev=len(rows) > PAGE_SIZE)
    if after:
        query = query.where(key < after)
    query = query.order_by(Invoice.date.desc(), Invoice.id.desc())
    rows = db.session.scalars(query.limit(PAGE_SIZE + 1)).all()
    return KeysetPage(items=rows[:PAGE_SIZE], has_next=len(rows) > PAGE_SIZE,
                      has_prev=after is not None)
