"""Where a queued invoice stands in line, and about how long until it is stamped."""
import math
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func

from ..alegra import budget as alegra_budget
from ..documents import Problem
from ..documents import StampAttempt
from ..extensions import db
from ..settings import alegra as connection
from .models import DRAFT
from .models import QUEUED
from .models import STAMPING
from .models import UNKNOWN
from .models import Invoice

# API requests one stamp costs once customer and products are in Alegra: the POST (the XML
# and PDF come from signed file URLs outside the API's per-minute limit).
REQUESTS_PER_STAMP = 1
# Until some stamps were timed here: a PAC usually answers within a few seconds.
DEFAULT_STAMP_SECONDS = 3.0
RECENT = 20


@dataclass
class Place:
    """Place in line (1 = next) and an estimate in whole seconds."""

    number: int
    seconds: int


def place(invoice):
    """The invoice's place among queued invoices (by queued_at) and an estimated wait."""
    if invoice.status != QUEUED or invoice.queued_at is None:
        return Place(0, math.ceil(stamp_seconds()))
    ahead = db.session.scalar(db.select(func.count()).select_from(Invoice).where(
        Invoice.status == QUEUED,
        (Invoice.queued_at < invoice.queued_at) |
        ((Invoice.queued_at == invoice.queued_at) & (Invoice.id < invoice.id))))
    return Place(ahead + 1, estimate(ahead + 1))


def queued_count():
    """How many invoices wait in the stamp queue."""
    return db.session.scalar(db.select(func.count()).select_from(Invoice).where(
        Invoice.status == QUEUED))


def estimate(number):
    """Seconds until the number-th invoice in line is stamped: the workers' pace, or the
    budget's windows when Alegra's per-minute limit is the bottleneck."""
    workers = max(int(current_app.config.get("JOBS_WORKERS", 1)), 1)
    pace = math.ceil(number / workers) * stamp_seconds()
    needed = number * REQUESTS_PER_STAMP
    state = _budget_state()
    if state is not None:
        remaining, reset = state
        if needed > remaining:
            limit = int(current_app.config.get("ALEGRA_RATE_LIMIT") or alegra_budget.LIMIT)
            windows = math.ceil((needed - remaining) / limit)
            pace = max(pace, reset + (windows - 1) * alegra_budget.WINDOW_SECONDS)
    return math.ceil(pace)


def stamp_seconds():
    """Average time of the latest stamps here (claim to answer)."""
    rows = db.session.execute(db.select(StampAttempt.started_at, StampAttempt.finished_at)
                              .where(StampAttempt.outcome == "stamped",
                                     StampAttempt.finished_at.is_not(None))
                              .order_by(StampAttempt.id.desc()).limit(RECENT)).all()
    times = [(end - start).total_seconds() for start, end in rows if end >= start]
    return sum(times) / len(times) if times else DEFAULT_STAMP_SECONDS


def _budget_state():
    conn = connection.connection()
    if not conn.api_email:
        return None
    url = connection.base_url(conn.environment)
    return alegra_budget.for_user(url, conn.api_email, may_wait=False).state()


# -- after a worker died --------------------------------------------------------------------
# How many times a queued stamp whose worker died goes back in line by itself.
MAX_REQUEUES = 3


def stuck():
    """Queued stamps left «timbrando» or «por verificar» (maybe by a dead worker): reconcile
    reads Alegra for them (a live worker's claim is left alone)."""
    return db.session.query(Invoice).filter(Invoice.status.in_((STAMPING, UNKNOWN)),
                                            Invoice.queued_at.is_not(None)).all()


def lost():
    """Queued stamps that a dead worker claimed and Alegra, read under every marker, does
    not hold: they go back in line (a user's edit since, or «Quitar de la cola», stops it)."""
    candidates = db.session.query(Invoice).filter(
        Invoice.status == DRAFT, Invoice.queued_at.is_not(None),
        Invoice.problem_code == Problem.NOT_CREATED.value).all()
    return [invoice for invoice in candidates if requeueable(invoice)]


def requeueable(invoice):
    """True for a draft that came back from the queue «no creada» and was not edited since."""
    if invoice.status != DRAFT or invoice.queued_at is None or \
            invoice.problem_code != Problem.NOT_CREATED.value:
        return False
    since = [a for a in invoice.attempts() if a.started_at >= invoice.queued_at]
    # service.save marks such attempts "not_found_edited": an edit makes it the user's again
    return bool(since) and since[-1].outcome == "not_found" and \
        sum(a.outcome == "not_found" for a in since) <= MAX_REQUEUES
