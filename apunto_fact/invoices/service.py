"""Drafts: build an invoice from the editor's data, save it, list and search invoices."""
import datetime
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import update

from .. import documents
from .. import fulltext
from ..customers.models import Customer
from ..extensions import db
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
            probe = Invoice.id
            if not customer_id and dialect == "sqlite":
                # A common word: SQLite would fetch every match by id and sort them all
                # (linear in the matches: 0.4 s at 1M). "id + 0" hides the id from its
                # planner, so it walks the (date, id) index newest first and probes the
                # match set, stopping when the page is full.
                probe = Invoice.id + 0
            query = query.where(probe.in_(ids))
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
