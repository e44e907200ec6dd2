"""The stamp queue's tasks: plain functions, run inside an app context by a worker."""
import logging

from ..extensions import db
from ..invoices import lots
from ..invoices import queue
from ..invoices import stamping
from ..invoices.models import QUEUED
from ..invoices.models import Invoice

log = logging.getLogger(__name__)


def stamp(invoice_id, version, receptor=None):
    """Stamp a queued invoice (a no-op unless it is still queued at that version)."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        return
    stamping.stamp_queued(invoice, version, receptor)


def queue_lot(lot_id):
    """Queue the checked invoices of a bulk lot, one by one."""
    lots.queue_lot(lot_id)


def requeue(pending, enqueue):
    """Give a task again to every queued invoice that has none (its worker died).

    pending: the (invoice_id, version) of the stamp tasks waiting in the store; enqueue:
    how to add one. A task given twice is harmless: only one can claim queued → stamping.
    First what a dead worker left: «timbrando» is resolved by reading Alegra, a stamp Alegra
    does not hold goes back in line (same place), and a lot's checked invoices its dead
    request never queued are queued. Returns how many tasks were added.
    """
    added = 0
    # One listing per customer and date for all of them (a lot is mostly one customer); what
    # was just read is not read again before going back in line.
    just_read = {invoice.id for invoice in stamping.reconcile_many(queue.stuck())}
    for invoice in queue.lost():
        stamping.enqueue(invoice, invoice.version, check=False, keep_place=True,
                         read=invoice.id not in just_read)
    for item, invoice in lots.not_yet_queued():
        lots.queue_unqueued(item, invoice)
    rows = db.session.execute(db.select(Invoice.id, Invoice.version).where(
        Invoice.status == QUEUED).order_by(Invoice.queued_at, Invoice.id)).all()
    db.session.commit()
    for invoice_id, version in rows:
        if (invoice_id, version) not in pending:
            enqueue(invoice_id, version)
            added += 1
    if added:
        log.info("Stamp queue: %s queued invoices had no task; given again", added)
    return added
