"""What the queue's workers do: plain functions, run inside an app context."""
import logging

from .. import crypto
from ..invoices import stamping
from ..settings import alegra as connection

log = logging.getLogger(__name__)


def sweep():
    """Poll what waits on Alegra (cancellations, unknown stamps), then fetch missing files.

    Runs outside any web request, so the shared budget lets it wait for Alegra's next
    minute instead of failing. Returns counts for the queue's result store and the log.
    """
    counts = {"checked": 0, "archived": 0, "files_pending": 0}
    try:
        connection.make_client()
    except (connection.NotConfigured, crypto.KeyProblem):
        return counts
    for invoice in stamping.pending():
        stamping.reconcile(invoice)
        counts["checked"] += 1
    for invoice in stamping.missing_files():
        ok = stamping.fetch_files(invoice, connection.make_client(invoice_id=invoice.id))
        counts["archived" if ok else "files_pending"] += 1
    log.info("Queue sweep: %s", counts)
    return counts
