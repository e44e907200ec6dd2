"""The task queue: Alegra work that can wait runs in queue workers, never in a web request.

Huey (https://huey.readthedocs.io) keeps the queue. By default in SQLite in the instance folder
(no extra service; `flask serve` runs the consumer in the same command); with
APUNTO_JOBS_REDIS_URL in Redis, so several servers and workers share one queue. Scaled out,
servers run without their embedded consumer (APUNTO_JOBS_EMBEDDED=0) and `flask worker`
processes take the tasks; exactly one of them schedules the periodic ones (--periodic).
Workers take Alegra's budget from alegra.budget like everyone else, and may wait for its reset.
"""
import logging
import os
import signal

from flask import current_app
from huey import PriorityRedisHuey
from huey import SqliteHuey
from huey import crontab
from huey.consumer import Consumer

from . import stamps
from . import work

log = logging.getLogger(__name__)

# An idle worker looks at the queue at least this often (Huey backs off to 10 s by default:
# a stamp queued then would wait that long before starting).
IDLE_POLL = 1.0


class Jobs:
    """The app's queue and the tasks it runs."""

    def __init__(self, app):
        self.huey = _storage(app)

        def sweep():
            with app.app_context():
                return work.sweep()

        # On demand (its result is kept) and every few minutes: cancellations still pending,
        # late CFDIs, missing XML/PDF. Huey keeps no result of periodic runs.
        # Ahead of stamp tasks: reconciling and downloads must not wait behind a big lot.
        self.sweep = self.huey.task(name="sweep", priority=20)(sweep)
        minutes = app.config["JOBS_SWEEP_MINUTES"]
        self.huey.periodic_task(crontab(minute=f"*/{minutes}"), name="periodic_sweep",
                                priority=20)(sweep)
        _stamp_tasks(self, app)

    def consumer(self, workers=None):
        """A consumer with thread workers, to run inside this process."""
        workers = workers or current_app.config["JOBS_WORKERS"]
        # An idle worker polls at most every second (Huey's default backs off to 10 s): a
        # queued stamp starts about at once, as the page's estimate says.
        return _EmbeddedConsumer(self.huey, workers=workers, worker_type="thread",
                                 periodic=True, check_worker_health=False, max_delay=IDLE_POLL)

    def worker(self, workers, periodic, shutdown_timeout):
        """A consumer that is its own process (`flask worker`): Ctrl+C or SIGTERM let the
        tasks in hand finish (up to shutdown_timeout seconds; a second signal stops at once)."""
        return _StandaloneConsumer(self.huey, workers=workers, worker_type="thread",
                                   periodic=periodic, check_worker_health=True,
                                   shutdown_timeout=shutdown_timeout, max_delay=IDLE_POLL)


def _stamp_tasks(jobs, app):
    """The stamp queue: stamp(invoice_id, version), and the requeue of orphaned invoices
    when a consumer starts and every minute (a worker that died took its task with it)."""
    huey = jobs.huey

    def stamp(invoice_id, version, receptor=None):
        with app.app_context():
            stamps.stamp(invoice_id, version, receptor)

    def requeue():
        with app.app_context():
            waiting = huey.pending() + huey.scheduled()  # a retry waits in the schedule
            pending = {tuple(task.args[:2]) for task in waiting if task.name == "stamp"}
            return stamps.requeue(pending, jobs.stamp)

    def queue_lot(lot_id):
        with app.app_context():
            stamps.queue_lot(lot_id)

    # Housekeeping goes ahead of the stamps in line (Huey priority): a lot of 1,000 must not
    # hold back the requeue of what a dead worker left, nor the queueing of the next lot.
    jobs.stamp = huey.task(name="stamp")(stamp)
    jobs.queue_lot = huey.task(name="queue_lot", priority=10)(queue_lot)
    jobs.requeue = huey.task(name="requeue", priority=20)(requeue)
    huey.periodic_task(crontab(minute="*"), name="periodic_requeue", priority=20)(requeue)
    started = []

    @huey.on_startup(name="requeue_at_start")
    def requeue_at_start():
        # Once per process (each worker thread runs the hook): enqueue the check, so it
        # runs in a worker and never delays the start.
        if not started:
            started.append(True)
            jobs.requeue()


class _EmbeddedConsumer(Consumer):
    """Huey's consumer inside the server's process: the server keeps its signal handlers
    (Ctrl+C must still stop it), and it may start from any thread."""

    def _set_signal_handlers(self):
        pass


class _StandaloneConsumer(Consumer):
    """Huey's consumer as the whole process. Both SIGINT (Ctrl+C) and SIGTERM (the launcher,
    systemd, a container) stop gracefully: a stamp in hand is finished, not cut."""

    def _set_signal_handlers(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop_gracefully)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def _stop_gracefully(self, signum, frame):
        # Read by Consumer.loop(); a second signal raises KeyboardInterrupt in the graceful
        # join, which Huey turns into "stop now".
        self._signum, self._restart, self._graceful = signum, False, True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def _storage(app):
    url = app.config.get("JOBS_REDIS_URL")
    if url:
        # Priority: housekeeping (requeue, sweep) goes ahead of hundreds of queued stamps.
        return PriorityRedisHuey("apunto-fact", url=url)
    path = app.config.get("JOBS_SQLITE_PATH") or os.path.join(app.instance_path, "jobs.sqlite")
    return SqliteHuey("apunto-fact", filename=path)


def init_app(app):
    """Give the app its queue (app.extensions["jobs"])."""
    app.config.setdefault("JOBS_WORKERS", 2)
    app.config.setdefault("JOBS_SWEEP_MINUTES", 5)
    # `flask serve` runs the consumer in its own process unless separate workers do the work.
    app.config.setdefault("JOBS_EMBEDDED", True)
    # Tests: run each task inline when it is enqueued (Huey's immediate mode, in memory).
    app.config.setdefault("JOBS_IMMEDIATE", False)
    if os.environ.get("APUNTO_JOBS_REDIS_URL"):
        app.config["JOBS_REDIS_URL"] = os.environ["APUNTO_JOBS_REDIS_URL"]
    if os.environ.get("APUNTO_JOBS_EMBEDDED"):
        app.config["JOBS_EMBEDDED"] = os.environ["APUNTO_JOBS_EMBEDDED"].lower() not in (
            "0", "no", "false")
    app.extensions["jobs"] = Jobs(app)
    app.extensions["jobs"].huey.immediate = bool(app.config["JOBS_IMMEDIATE"])
    app.add_template_global(work.files_progress)  # Inicio: missing XML/PDF downloads


def queue():
    """The current app's Jobs."""
    return current_app.extensions["jobs"]


def start_consumer(app):
    """Start the queue's workers in this process (as `flask serve` does); return the consumer."""
    with app.app_context():
        consumer = queue().consumer()
    consumer.start()
    log.info("Task queue started (%s workers)", consumer.workers)
    return consumer
