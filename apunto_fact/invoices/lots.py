"""Bulk stamping: a lot of invoices checked together, queued, and followed to its summary.

The lot only remembers what was asked and why an invoice was left out; everything else is
read from the invoices themselves, so the progress survives a closed tab or a restart and
never disagrees with the invoice page.
"""
import logging
from dataclasses import dataclass

from sqlalchemy.orm import selectinload

from ..extensions import db
from ..settings import diagnostic
from ..timeutil import utcnow
from . import queue
from . import readiness
from . import stamping
from .models import CANCEL_PENDING
from .models import CANCELLED
from .models import EDITABLE
from .models import QUEUED
from .models import REJECTED
from .models import STAMPED
from .models import STAMPING
from .models import UNKNOWN
from .models import Invoice
from .models import InvoiceLine

log = logging.getLogger(__name__)
ANOTHER_LOT = "Ya estaba en la cola por otro lote; se timbra una sola vez."
# One request checks every invoice of the lot before answering: keep it a request.
MAX_LOT = 1000
# The progress page's groups, in the order it shows them.
KINDS = {
    "pendiente": "En cola o timbrando",
    "timbrada": "Timbradas",
    "rechazada": "Rechazadas por Alegra o el SAT",
    "por_verificar": "Por verificar con Alegra",
    "sin_timbrar": "No se timbraron",
    "no_lista": "No estaban listas (no se envió nada)",
}


class StampLot(db.Model):
    """One «Timbrar seleccionadas»: who asked, when, and when it was seen finished."""

    __tablename__ = "stamp_lots"

    id = db.Column(db.Integer, primary_key=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by = db.Column(db.String(80))
    finished_at = db.Column(db.DateTime, index=True)
    items = db.relationship("StampLotItem", order_by="StampLotItem.position",
                            cascade="all, delete-orphan", back_populates="lot")


class StampLotItem(db.Model):
    """One invoice of a lot: queued (at which version) or left out, and why."""

    __tablename__ = "stamp_lot_items"
    __table_args__ = (db.Index("ix_stamp_lot_items_invoice", "invoice_id"),)

    lot_id = db.Column(db.Integer, db.ForeignKey("stamp_lots.id", ondelete="CASCADE"),
                       primary_key=True)
    invoice_id = db.Column(db.Integer, db.ForeignKey("invoices.id", ondelete="CASCADE"),
                           primary_key=True)
    position = db.Column(db.Integer, nullable=False)
    # The version readiness passed on: if the lot's request dies before queueing it, the
    # requeue queues exactly this version (an edit since makes it a draft the user owns).
    checked_version = db.Column(db.Integer, nullable=False)
    queued_version = db.Column(db.Integer)
    not_queued = db.Column(db.Text)  # why it was left out (Spanish), None when queued

    lot = db.relationship("StampLot", back_populates="items")
    invoice = db.relationship("Invoice")


def ready_selection():
    """«Todas las listas para timbrar»: every draft or rejected invoice, oldest first."""
    rows = db.session.execute(db.select(Invoice.id).where(Invoice.status.in_(EDITABLE))
                              .order_by(Invoice.date, Invoice.id).limit(MAX_LOT)).scalars()
    return [(invoice_id, None) for invoice_id in rows]


def editable_count():
    """How many drafts and rejected invoices there are (to say what a full lot left out)."""
    return db.session.scalar(db.select(db.func.count()).select_from(Invoice).where(
        Invoice.status.in_(EDITABLE)))


def create(selection, username=None, only_ready=False):
    """Check every selected invoice, then queue the ready ones; return the new lot.

    selection: [(invoice_id, version seen or None)]. Readiness runs for all of them before
    anything is queued; an invoice that is not ready, changed since it was listed or is no
    longer a draft is kept in the lot with the reason, and nothing is sent for it. With
    only_ready («todas las listas») the ones that are not ready are left out of the lot.
    """
    ids = [invoice_id for invoice_id, _seen in selection]
    invoices = {i.id: i for i in db.session.query(Invoice).filter(Invoice.id.in_(ids)).options(
        selectinload(Invoice.lines).joinedload(InvoiceLine.product))}
    account = diagnostic.before_first_stamp()  # once for the lot, not once per invoice
    lot, ready = StampLot(created_by=username), []
    for position, (invoice_id, seen) in enumerate(selection):
        invoice = invoices.get(invoice_id)
        if invoice is None:
            continue
        reason = _why_not(invoice, seen, account)
        if reason and only_ready:
            continue
        item = StampLotItem(invoice_id=invoice.id, position=position,
                            checked_version=invoice.version, not_queued=reason)
        if invoice.status == QUEUED:
            item.queued_version = invoice.version  # already in line: followed, not queued again
        elif reason is None:
            ready.append(invoice)
        lot.items.append(item)
    if not lot.items:
        return lot  # nothing to follow: no lot is stored
    db.session.add(lot)
    db.session.commit()
    if ready:
        _hand_to_queue(lot)
    return lot


def _hand_to_queue(lot):
    """One task queues the lot's ready invoices (a request of 1,000 answers at once); if
    the queue's store is down nothing is left waiting for it: the lot says so."""
    from .. import jobs

    lot_id = lot.id
    try:
        jobs.queue().queue_lot(lot_id)
    except Exception:  # noqa: BLE001 - any failure of the store means the same to the user
        log.exception("Could not enqueue lot %s", lot_id)
        db.session.rollback()
        lot = db.session.get(StampLot, lot_id)
        for item in lot.items:
            if item.not_queued is None and item.queued_version is None:
                item.not_queued = stamping.QUEUE_DOWN
        db.session.commit()


def queue_lot(lot_id):
    """The worker's half of a lot: move each checked invoice to the queue (version-guarded:
    one edited since is left to its user) and give it a stamp task."""
    waiting = db.session.execute(db.select(StampLotItem.invoice_id).where(
        StampLotItem.lot_id == lot_id, StampLotItem.not_queued.is_(None),
        StampLotItem.queued_version.is_(None)).order_by(StampLotItem.position)).scalars().all()
    for invoice_id in waiting:
        db.session.expunge_all()  # keep the session small: 1,000 invoices, one at a time
        item = db.session.get(StampLotItem, (lot_id, invoice_id))
        invoice = db.session.get(Invoice, invoice_id)
        if item is None or invoice is None:
            continue
        if _unqueued(item, invoice):
            queue_unqueued(item, invoice)
        elif not invoice.editable and _queued_by_another_lot(lot_id, invoice_id):
            item.not_queued = ANOTHER_LOT
            db.session.commit()


def _why_not(invoice, seen, account):
    if invoice.status == QUEUED:
        return None
    if not invoice.editable:
        return f"Ya no es un borrador (está «{invoice.status_label.lower()}»)."
    if seen is not None and seen != invoice.version:
        return ("Cambió desde que abriste la lista (se editó en otra ventana); ábrela, "
                "revísala y timbra desde ahí.")
    problems = readiness.problems(invoice) or account
    return " ".join(p.message for p in problems) or None


@dataclass
class Row:
    """One invoice of the lot as it stands now."""

    item: StampLotItem
    invoice: Invoice
    kind: str
    message: str | None


@dataclass
class Progress:
    """A lot now: rows by group, counts, and whether anything can still change."""

    lot: StampLot
    rows: list
    counts: dict
    done: bool

    def group(self, kind):
        return [row for row in self.rows if row.kind == kind]


def progress(lot):
    """Where each invoice of lot stands; marks the lot finished the first time it is."""
    rows = db.session.execute(
        db.select(StampLotItem, Invoice).join(Invoice, Invoice.id == StampLotItem.invoice_id)
        .where(StampLotItem.lot_id == lot.id).order_by(StampLotItem.position)).all()
    found = [Row(item, invoice, *_kind(item, invoice)) for item, invoice in rows]
    counts = {kind: 0 for kind in KINDS}
    for row in found:
        counts[row.kind] += 1
    done = counts["pendiente"] == 0 and not any(
        r.kind == "sin_timbrar" and queue.requeueable(r.invoice) for r in found)
    if done and lot.finished_at is None:
        lot.finished_at = utcnow()
        db.session.commit()
    return Progress(lot, found, counts, done)


def _kind(item, invoice):
    if item.not_queued:
        return "no_lista", item.not_queued
    if invoice.status in (QUEUED, STAMPING) or _unqueued(item, invoice):
        return "pendiente", None
    if invoice.status in (STAMPED, CANCEL_PENDING, CANCELLED):
        return "timbrada", None
    if invoice.status == REJECTED:
        return "rechazada", invoice.problem_message
    if invoice.status == UNKNOWN:
        return "por_verificar", invoice.problem_message
    if invoice.problem_message:
        return "sin_timbrar", invoice.problem_message
    if item.queued_version is None:
        return "sin_timbrar", "Se editó antes de entrar en la cola; no se envió a Alegra."
    return "sin_timbrar", "Se quitó de la cola; no se envió a Alegra."


def _unqueued(item, invoice):
    """Checked and meant for the queue, but the lot's request died before queueing it."""
    return item.not_queued is None and item.queued_version is None and \
        invoice.editable and invoice.version == item.checked_version and \
        item.lot.finished_at is None


def _unfinished_items(statuses, lot_id=None):
    query = db.select(StampLotItem, Invoice).join(
        Invoice, Invoice.id == StampLotItem.invoice_id).join(
        StampLot, StampLot.id == StampLotItem.lot_id).where(
        StampLot.finished_at.is_(None), StampLotItem.not_queued.is_(None),
        Invoice.status.in_(statuses))
    if lot_id is not None:
        query = query.where(StampLot.id == lot_id)
    return db.session.execute(query.order_by(StampLotItem.lot_id,
                                             StampLotItem.position)).all()


def not_yet_queued(lot_id=None):
    """(item, invoice) of unfinished lots (or of one) checked but not queued yet."""
    return [(item, invoice) for item, invoice in _unfinished_items(EDITABLE, lot_id)
            if _unqueued(item, invoice)]


def queue_unqueued(item, invoice):
    """Queue what a dead lot request left checked but not queued (readiness passed on this
    very version; Alegra still judges the data)."""
    outcome = stamping.enqueue(invoice, item.checked_version, check=False)
    lot_id, invoice_id = item.lot_id, invoice.id
    item = db.session.get(StampLotItem, (lot_id, invoice_id))
    if not (outcome.blocked or outcome.stale):
        item.queued_version = item.checked_version + 1
    elif invoice.editable and invoice.version != item.checked_version:
        # Edited since the lot checked it (another requeue that won is not a reason).
        item.not_queued = outcome.notice
    elif not invoice.editable and _queued_by_another_lot(lot_id, invoice_id):
        # Two lots of the same drafts (a double click on «todas»): one follows each invoice.
        item.not_queued = ANOTHER_LOT
    db.session.commit()


def _queued_by_another_lot(lot_id, invoice_id):
    """Did another unfinished lot put this invoice in line? (A tab's own Timbrar is just
    followed: the lot shows its result.)"""
    return db.session.scalar(db.select(StampLotItem.lot_id).join(StampLot).where(
        StampLotItem.invoice_id == invoice_id, StampLotItem.lot_id != lot_id,
        StampLotItem.queued_version.is_not(None), StampLot.finished_at.is_(None))
        .limit(1)) is not None


def running(limit=5):
    """Lots not finished yet, newest first (Inicio links to them)."""
    lots = db.session.query(StampLot).filter(StampLot.finished_at.is_(None)).order_by(
        StampLot.id.desc()).limit(limit).all()
    return [p for p in (progress(lot) for lot in lots) if not p.done]
