"""The task queue (Huey): its workers fetch what is missing, within the shared budget."""
import os

from sqlalchemy import update

from apunto_fact import jobs
from apunto_fact.extensions import db
from apunto_fact.invoices.models import Invoice


def _forget_files(app, invoice_id):
    """As if the downloads after stamping had failed: no XML or PDF archived."""
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        for kind in ("xml", "pdf"):
            os.remove(os.path.join(app.config["ARCHIVE_PATH"], getattr(invoice, f"{kind}_path")))
        db.session.execute(update(Invoice).where(Invoice.id == invoice_id)
                           .values(xml_path=None, pdf_path=None))
        db.session.commit()


def real_queue(app):
    """Tasks go to the queue's store from now on (the suite runs them inline by default)."""
    app.extensions["jobs"].huey.immediate = False


def test_a_queue_worker_archives_missing_files(invoicing, app):
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    _forget_files(app, invoice_id)
    real_queue(app)
    with app.app_context():
        queue = jobs.queue()
        result = queue.sweep()  # queued; the periodic schedule would do the same
    consumer = jobs.start_consumer(app)
    try:
        counts = result.get(blocking=True, timeout=20)
    finally:
        consumer.stop(graceful=True)
    assert counts == {"checked": 0, "archived": 1, "files_pending": 0}
    stored = invoicing.invoice(invoice_id)
    assert stored.xml_path and stored.pdf_path
    with app.app_context():
        assert os.path.exists(os.path.join(app.config["ARCHIVE_PATH"], stored.xml_path))


def test_the_queue_lives_in_the_instance_folder_unless_redis_is_configured(app, monkeypatch):
    real_queue(app)
    huey = app.extensions["jobs"].huey
    assert type(huey).__name__ == "SqliteHuey"
    assert huey.storage.filename == os.path.join(app.instance_path, "jobs.sqlite")
    monkeypatch.setenv("APUNTO_JOBS_REDIS_URL", "redis://127.0.0.1:6399/0")
    from apunto_fact import create_app
    other = create_app({**app.config, "INSTANCE_PATH": app.instance_path})
    assert type(other.extensions["jobs"].huey).__name__ == "RedisHuey"


def test_flask_serve_runs_the_queue_in_the_same_command(invoicing, app, sandbox):
    """One command: the server's own process takes a queued sweep and archives the files."""
    from test_stamping_integrity import _free_port
    from test_stamping_integrity import _serve
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    _forget_files(app, invoice_id)
    real_queue(app)
    with app.app_context():
        result = jobs.queue().sweep()
        db.session.remove()
        db.engine.dispose()
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    process, _ = _serve(app.instance_path, _free_port(), sandbox.url,
                        database_url if not database_url.startswith("sqlite") else None)
    try:
        counts = result.get(blocking=True, timeout=60)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert counts == {"checked": 0, "archived": 1, "files_pending": 0}
