"""Drafts: build an invoice from the editor's data, save it, list and search invoices."""
import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.orm import contains_eager

from .. import documents
from ..catalog import page_of
from ..customers.models import Customer
from ..extensions import db
from ..sat.search import fold
from .models import Invoice
from .models import LINE_FIELDS
from .models import InvoiceLine
from .totals import compute

PAGE_SIZE = 25


def customer_of(form):
    """The customer chosen in the form, or None."""
    raw = str(form.customer_id.data or "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        return None  # not one of our ids (also: too large for the column)
    return db.session.get(Customer, int(raw))


def apply(invoice, draft):
    """Copy a parsed editor (editor.Draft) onto invoice and its lines; return the totals."""
    with db.session.no_autoflush:
        invoice.customer = draft.customer
        invoice.date = draft.date
        invoice.currency = draft.currency
        invoice.exchange_rate = draft.exchange_rate
        invoice.uso_cfdi, invoice.metodo_pago = draft.uso_cfdi, draft.metodo_pago
        invoice.forma_pago, invoice.observations = draft.forma_pago, draft.observations
        invoice.global_periodicidad, invoice.global_meses = (draft.global_periodicidad,
                                                             draft.global_meses)
        invoice.global_anio = draft.global_anio
        old = {line.position: line for line in invoice.lines}
        lines = []
        for position, parsed in enumerate(draft.lines):
            line = old.get(position) or InvoiceLine()
            line.position, line.product = position, parsed.product
            for name in LINE_FIELDS:
                setattr(line, name, getattr(parsed, name))
            lines.append(line)
        invoice.lines = lines
        totals = compute(draft.lines)
        invoice.subtotal, invoice.discount = totals.subtotal, totals.discount
        invoice.taxes, invoice.retentions = totals.taxes_total, totals.retentions_total
        invoice.total = totals.total
    return totals


HEADER_FIELDS = ("date", "currency", "exchange_rate", "uso_cfdi", "metodo_pago", "forma_pago",
                 "observations")


def _content(invoice):
    """What a CFDI of this invoice would say (header and lines), to tell an edit."""
    with db.session.no_autoflush:
        header = tuple(getattr(invoice, name) for name in HEADER_FIELDS) + (
            invoice.customer.id if invoice.customer is not None else None,)
        return header + tuple(tuple(getattr(line, name) for name in LINE_FIELDS)
                              for line in invoice.lines)


def save(invoice, draft, version=None):
    """Persist a draft; an existing invoice only if still editable at version.

    Returns False (nothing written) when the invoice changed since the editor showed it.
    The version bump comes first, so the edit and a stamp claim exclude each other.
    """
    if invoice.id is not None and (version is None or not documents.touch(invoice, version)):
        return False
    before = _content(invoice) if invoice.id is not None else None
    apply(invoice, draft)
    if before is not None and _content(invoice) != before:
        # A late CFDI of an earlier attempt no longer shows what this draft holds.
        db.session.execute(update(documents.StampAttempt).where(
            documents.StampAttempt.document_type == invoice.DOCUMENT_TYPE,
            documents.StampAttempt.document_id == invoice.id,
            documents.StampAttempt.outcome == "not_found").values(outcome="not_found_edited"))
    db.session.add(invoice)
    db.session.commit()
    return True


def delete_draft(invoice, version):
    """Delete a draft never sent to Alegra, if still at version; False when it changed.

    A draft with a stamp attempt is history Alegra may hold (its marker must stay
    searchable): it is never deleted.
    """
    if invoice.status != documents.DRAFT or invoice.attempts():
        return False
    deleted = db.session.execute(
        sa.delete(Invoice).where(Invoice.id == invoice.id,
                                 Invoice.status == documents.DRAFT,
                                 Invoice.version == int(version))).rowcount
    db.session.commit()
    return deleted == 1


def duplicate(invoice, today):
    """Return a new saved draft with invoice's customer, terms and lines, dated today."""
    copy = Invoice(customer=invoice.customer, date=today, currency=invoice.currency,
                   exchange_rate=invoice.exchange_rate, uso_cfdi=invoice.uso_cfdi,
                   metodo_pago=invoice.metodo_pago, forma_pago=invoice.forma_pago,
                   observations=invoice.observations, subtotal=invoice.subtotal,
                   discount=invoice.discount, taxes=invoice.taxes,
                   retentions=invoice.retentions, total=invoice.total)
    for line in invoice.lines:
        new = InvoiceLine(position=line.position, product_id=line.product_id)
        for name in LINE_FIELDS:
            setattr(new, name, getattr(line, name))
        copy.lines.append(new)
    db.session.add(copy)
    db.session.commit()
    return copy


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
