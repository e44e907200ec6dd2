"""What the queue's workers do: plain functions, run inside an app context."""
import logging
import time
from datetime import timedelta

from flask import current_app
from flask import render_template
from markupsafe import Markup

from .. import crypto
from ..invoices import stamping
from ..payments import stamping as rep
from ..settings import alegra as connection
from ..timeutil import utcnow

log = logging.getLogger(__name__)
# Where the file downloads report their progress: the queue's own key/value store, which
# every web process reads (SQLite in the instance folder, or Redis).
PROGRESS_KEY = "missing-files-progress"
# A sweep stops downloading after this long (the budget may make it wait for Alegra's next
# minute); the next periodic sweep goes on from there, so sweeps do not pile up.
FILES_SECONDS = 240
# A run not heard from for this long stopped (worker restarted): said so, not "en curso".
STALLED = timedelta(seconds=FILES_SECONDS + 120)
SHOWN_FOR = timedelta(hours=1)
NAMES_SHOWN = 10


def sweep(clock=time.monotonic):
    """Poll what waits on Alegra (invoices and REPs), then fetch missing XML/PDF files.

    Runs outside any web request, so the shared budget lets it wait for Alegra's next
    minute instead of failing. Returns counts for the queue's result store and the log.
    """
    counts = {"checked": 0, "archived": 0, "files_pending": 0}
    try:
        connection.make_client()
    except (connection.NotConfigured, crypto.KeyProblem):
        return counts
    # One listing per customer and date serves all of its unknown invoices.
    period = timedelta(minutes=current_app.config["JOBS_SWEEP_MINUTES"])
    counts["checked"] += len(stamping.reconcile_many(stamping.pending(period)))
    for payment in rep.pending():
        rep.reconcile(payment)
        counts["checked"] += 1
    archived, failed = fetch_missing(clock)
    counts["archived"], counts["files_pending"] = archived, failed
    log.info("Queue sweep: %s", counts)
    return counts


def fetch_missing(clock=time.monotonic):
    """Archive the XML/PDF that stamped invoices and REPs lack; report progress as it goes.

    Returns (archived, not archived). Stops after FILES_SECONDS; the rest stays for the
    next sweep and the progress says so.
    """
    # (document, its fetch, its name, the invoice the bitácora files the calls under)
    documents = [(i, stamping.fetch_files, i.title, i.id) for i in stamping.missing_files()] + \
        [(p, rep.fetch_files, f"Pago #{p.id}", None) for p in rep.missing_files()]
    progress = {"total": len(documents), "done": 0, "failed": [], "left": len(documents),
                "started_at": utcnow(), "updated_at": utcnow(), "finished_at": None}
    _report(progress)
    deadline = clock() + FILES_SECONDS
    for document, fetch, title, invoice_id in documents:
        if clock() > deadline:
            break
        try:
            ok = fetch(document, connection.make_client(invoice_id=invoice_id))
        except (connection.NotConfigured, crypto.KeyProblem):
            break
        progress["left"] -= 1
        if ok:
            progress["done"] += 1
        else:
            progress["failed"].append(title)
        progress["updated_at"] = utcnow()
        _report(progress)
    progress["finished_at"] = progress["updated_at"] = utcnow()
    _report(progress)
    return progress["done"], progress["total"] - progress["done"]


def _report(progress):
    try:
        current_app.extensions["jobs"].huey.put(PROGRESS_KEY, progress)
    except Exception:  # noqa: BLE001 - progress is a courtesy; the downloads go on
        log.warning("Could not record the download progress", exc_info=True)


def progress():
    """The last download run's progress as stored (dict), or None."""
    try:
        return current_app.extensions["jobs"].huey.get(PROGRESS_KEY, peek=True)
    except Exception:  # noqa: BLE001 - a queue store that is down must not break Inicio
        log.warning("Could not read the download progress", exc_info=True)
        return None


def files_progress():
    """Inicio's line about missing XML/PDF downloads: running, stopped, failed or done."""
    state = progress()
    if not state or not state["total"]:
        return ""
    now = utcnow()
    running = state["finished_at"] is None
    if running and now - state["updated_at"] > STALLED:
        phase = "stalled"
    elif running:
        phase = "running"
    elif state["failed"] or state["left"]:
        phase = "incomplete"
    elif now - state["finished_at"] < SHOWN_FOR:
        phase = "done"
    else:
        return ""
    return Markup(render_template("jobs/_files_progress.html", p=state, phase=phase,
                                  names=state["failed"][:NAMES_SHOWN],
                                  more=max(len(state["failed"]) - NAMES_SHOWN, 0)))
