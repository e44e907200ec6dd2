"""The one Alegra rate budget of the installation, kept in the database.

Alegra allows 150 requests per minute per API user (alegra-api.md §1.6) and says how many are
left in X-Rate-Limit-Remaining / X-Rate-Limit-Reset. Every thread, server process, worker and
CLI command takes its requests from the same row, so together they never exceed the window.
A web request never waits for the window: it gets an AlegraError (kind "busy") at once; only
background work (workers, CLI) sleeps until the reset.
"""
import logging
import math
import time
from urllib.parse import urlsplit

from flask import current_app
from flask import has_request_context
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from .client import MAX_RESET_SECONDS
from .client import AlegraError

log = logging.getLogger(__name__)

LIMIT = 150  # requests per window for one API user (§1.6); app config ALEGRA_RATE_LIMIT
WINDOW_SECONDS = 60

budget_table = db.Table(
    "alegra_budget",
    db.Column("key", db.String(300), primary_key=True),
    db.Column("remaining", db.Integer, nullable=False),
    # Wall-clock seconds (time.time()): the processes sharing the row share no monotonic clock.
    db.Column("reset_at", db.Float, nullable=False),
)

# A stored reset beyond one window from now (written before the clamp, or a clock that jumped
# back) counts as over: a bad row must not block Alegra for longer than a window.
_OVER = "(reset_at <= :now OR reset_at > :horizon)"
_TAKE = text(
    "UPDATE alegra_budget SET "
    f"remaining = CASE WHEN {_OVER} THEN :limit - 1 ELSE remaining - 1 END, "
    f"reset_at = CASE WHEN {_OVER} THEN :now + :window ELSE reset_at END "
    f"WHERE key = :key AND ({_OVER} OR remaining > 0)")
# A reset later than the one stored means Alegra opened a new window: believe its count.
# Within the same window keep the lower figure: requests in flight are not in the header yet.
_OBSERVE = text(
    "UPDATE alegra_budget SET "
    "remaining = CASE WHEN :reset_at > reset_at + 1 OR remaining > :remaining "
    "THEN :remaining ELSE remaining END, reset_at = :reset_at WHERE key = :key")


class Budget:
    """The shared window of one Alegra API user; `may_wait` is False inside a web request."""

    def __init__(self, key, may_wait, max_wait=65.0, clock=None, sleep=None, limit=None):
        self.key, self.may_wait, self.max_wait = key, may_wait, max_wait
        self.clock = clock or time.time
        self.sleep = sleep or (lambda seconds: time.sleep(seconds))
        self.app = current_app._get_current_object()
        self.limit = limit or self.app.config.get("ALEGRA_RATE_LIMIT") or LIMIT

    def acquire(self):
        """Take one request from the window, waiting for the reset only where waiting is fine.

        :raise AlegraError: kind "busy" when the window is spent and this thread may not wait
            (or would wait longer than max_wait); nothing was sent.
        """
        waited = 0.0
        while True:
            wait = self.take()
            if wait <= 0:
                return
            if not self.may_wait or waited + wait > self.max_wait:
                seconds = math.ceil(wait)
                raise AlegraError(
                    "Alegra permite un número limitado de solicitudes por minuto y ya se "
                    f"usaron las de este minuto. Intenta de nuevo en {seconds} s.",
                    kind="busy", reset=seconds)
            self.sleep(wait)
            waited += wait

    def take(self):
        """Reserve one request: 0 when granted, else the seconds until the window resets."""
        now = self.clock()
        params = {"key": self.key, "now": now, "limit": self.limit, "window": WINDOW_SECONDS,
                  "horizon": now + MAX_RESET_SECONDS}
        try:
            with self.app.app_context(), db.engine.begin() as connection:
                if connection.execute(_TAKE, params).rowcount == 1:
                    return 0.0
                row = connection.execute(
                    text("SELECT reset_at FROM alegra_budget WHERE key = :key"),
                    params).first()
                if row is None:
                    connection.execute(budget_table.insert().values(
                        key=self.key, remaining=self.limit - 1, reset_at=now + WINDOW_SECONDS))
                    return 0.0
                return max(row[0] - now, 0.05)
        except IntegrityError:
            return self.take()  # another process created the row first: take from it
        except SQLAlchemyError:
            # The budget is a courtesy to Alegra; its store failing must not stop the work.
            log.warning("Alegra rate budget unavailable; request sent without it", exc_info=True)
            return 0.0

    def wait_for_room(self):
        """Background work only: sleep until the window has a request left (takes none).

        A queued stamp waits here, before it is claimed, so the invoice shows «en cola» (not
        «timbrando») while Alegra's minute runs out, and a worker killed meanwhile leaves it
        queued for another worker.
        """
        waited = 0.0
        while self.may_wait and waited <= self.max_wait:
            state = self.state()
            if state is None or state[0] > 0 or state[1] <= 0:
                return
            self.sleep(state[1])
            waited += state[1]

    def observe(self, remaining, reset_seconds):
        """Adopt what Alegra's X-Rate-Limit-* headers said after a response."""
        reset_seconds = min(max(reset_seconds or 0, 0), MAX_RESET_SECONDS)
        params = {"key": self.key, "remaining": min(max(int(remaining), 0), self.limit),
                  "reset_at": self.clock() + reset_seconds}
        try:
            with self.app.app_context(), db.engine.begin() as connection:
                if connection.execute(_OBSERVE, params).rowcount == 0:
                    connection.execute(budget_table.insert().values(**params))
        except IntegrityError:
            pass
        except SQLAlchemyError:
            log.warning("Could not record Alegra's rate headers", exc_info=True)

    def state(self):
        """(remaining, seconds until reset) as stored, or None before the first request."""
        with self.app.app_context(), db.engine.connect() as connection:
            row = connection.execute(text(
                "SELECT remaining, reset_at FROM alegra_budget WHERE key = :key"),
                {"key": self.key}).first()
        if row is None:
            return None
        seconds = row[1] - self.clock()
        if seconds > MAX_RESET_SECONDS:
            return (self.limit, 0.0)  # an unbelievable reset: the window is over (_OVER)
        return (row[0], max(seconds, 0.0))


def for_user(base_url, email, may_wait=None):
    """The budget of this API user on this Alegra host; waits only outside web requests."""
    may_wait = not has_request_context() if may_wait is None else may_wait
    return Budget(f"{urlsplit(base_url).netloc}|{email.lower()}", may_wait,
                  max_wait=current_app.config["ALEGRA_MAX_RATE_WAIT"])
