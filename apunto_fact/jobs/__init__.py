"""The task queue: Alegra work that can wait runs in queue workers, never in a web request.

Huey (https://huey.readthedocs.io) keeps the queue. By default in SQLite in the instance folder
(no extra service; `flask serve` runs the consumer in the same command); with
APUNTO_JOBS_REDIS_URL in Redis, so several servers and workers share one queue. Workers take
Alegra's budget from alegra.budget like everyone else, and may wait for its reset.
"""
import logging
import os

from flask import current_app
from huey import RedisHuey
from huey import SqliteHuey
from huey import crontab
from huey.consumer import Consumer

from . import stamps
from . import work

log = logging.getLogger(__name__)


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
                                 periodic=True, check_worker_health=False, max_delay=1.0)


def _stamp_tasks(jobs, app):
    """The stamp queue: stamp(invoice_id, version), and the requeue of orphaned invoices
    when a consumer starts and every minute (a worker that died took its task with it)."""
    huey = jobs.huey

    def stamp(invoice_id, version):
        with app.app_context():
            stamps.stamp(invoice_id, version)

    def requeue():
        with app.app_context():
            waiting = huey.pending() + huey.scheduled()  # a retry waits in the schedule
            pending = {tuple(task.args[:2]) for task in waiting if task.name == "stamp"}
            return stamps.requeue(pending, jobs.stamp)

    def queue_lot(lot_id):
        with app.app_context():
            stamps.queue_lot(lot_id)

    jobs.stamp = huey.task(name="stamp")(stamp)
    jobs.queue_lot = huey.task(name="queue_lot")(queue_lot)
    jobs.requeue = huey.task(name="requeue")(requeue)
    huey.periodic_task(crontab(minute="*"), name="periodic_requeue")(requeue)
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


def _storage(app):
    url = app.config.get("JOBS_REDIS_URL")
    if url:
        return RedisHuey("apunto-fact", url=url)
    path = app.config.get("JOBS_SQLITE_PATH") or os.path.join(app.instance_path, "jobs.sqlite")
    return SqliteHuey("apunto-fact", filename=path)


def init_app(app):
    """Give the app its queue (app.extensions["jobs"])."""
    app.config.setdefault("JOBS_WORKERS", 2)
    app.config.setdefault("JOBS_SWEEP_MINUTES", 5)
    # Tests: run each task inline when it is enqueued (Huey's immediate mode, in memory).
    app.config.setdefault("JOBS_IMMEDIATE", False)
    if os.environ.get("APUNTO_JOBS_REDIS_URL"):
        app.config["JOBS_REDIS_URL"] = os.environ["APUNTO_JOBS_REDIS_URL"]
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
