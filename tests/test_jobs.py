"""The task queue (Huey): its workers fetch what is missing, within the shared budget."""
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import update

from conftest import sandbox_calls
from conftest import sandbox_control
from conftest import set_faults
from test_stamping_integrity import wait_for

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
    from apunto_fact import create_app
    monkeypatch.delenv("APUNTO_JOBS_REDIS_URL", raising=False)
    config = {**app.config, "INSTANCE_PATH": app.instance_path, "JOBS_IMMEDIATE": False}
    config.pop("JOBS_REDIS_URL", None)
    huey = create_app(config).extensions["jobs"].huey
    assert type(huey).__name__ == "SqliteHuey"
    assert huey.storage.filename == os.path.join(app.instance_path, "jobs.sqlite")
    monkeypatch.setenv("APUNTO_JOBS_REDIS_URL", "redis://127.0.0.1:6399/0")
    other = create_app(config)
    assert type(other.extensions["jobs"].huey).__name__ == "PriorityRedisHuey"


def test_flask_serve_runs_the_queue_in_the_same_command(invoicing, app, sandbox):
    """One command: the server's own process takes a queued sweep and archives the files."""
    from test_stamping_integrity import _free_port
    from test_stamping_integrity import _serve
    invoice_id, result = _queued_sweep(invoicing, app)
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    process, _ = _serve(app.instance_path, _free_port(), sandbox.url,
                        database_url if not database_url.startswith("sqlite") else None)
    try:
        counts = result.get(blocking=True, timeout=60)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert counts == {"checked": 0, "archived": 1, "files_pending": 0}


def _worker_process(app, sandbox, *args):
    """`flask worker` as its own process on the app's instance folder and database."""
    env = {**os.environ, "APUNTO_INSTANCE_PATH": app.instance_path, "FLASK_APP": "apunto_fact",
           "APUNTO_SANDBOX_URL": sandbox.url, "PYTHONUNBUFFERED": "1"}
    env.pop("APUNTO_DATABASE_URL", None)
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not database_url.startswith("sqlite"):
        env["APUNTO_DATABASE_URL"] = database_url
    return subprocess.Popen([sys.executable, "-m", "flask", "worker", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _stop(process, signum=signal.SIGTERM):
    """Signal the worker; return its exit code and everything it printed."""
    process.send_signal(signum)
    output, _ = process.communicate(timeout=60)
    return process.returncode, output


def _queued_sweep(invoicing, app):
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    _forget_files(app, invoice_id)
    real_queue(app)
    with app.app_context():
        result = jobs.queue().sweep()
        db.session.remove()
        db.engine.dispose()
    return invoice_id, result


def test_flask_worker_runs_the_queue_as_its_own_process(invoicing, app, sandbox):
    invoice_id, result = _queued_sweep(invoicing, app)
    worker = _worker_process(app, sandbox, "--no-periodic", "--threads", "1")
    try:
        counts = result.get(blocking=True, timeout=60)
    finally:
        code, output = _stop(worker)
    assert counts == {"checked": 0, "archived": 1, "files_pending": 0}
    assert invoicing.invoice(invoice_id).xml_path
    assert code == 0, output
    assert "tareas periódicas en otro trabajador" in output
    assert "El trabajador de la cola se detuvo." in output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_worker_finishes_the_task_in_hand_first(invoicing, app, sandbox, signum):
    """SIGTERM (launcher, systemd) and Ctrl+C both let the running task end, then exit 0."""
    invoice_id, result = _queued_sweep(invoicing, app)
    sandbox_control(sandbox, "stats/reset")
    # The file download answers slowly: the signal arrives while the task waits for Alegra.
    set_faults(sandbox, rules=[{"method": "GET", "path": f"/invoices/{_alegra_id(app, invoice_id)}",
                                "action": "delay", "delay": 3, "times": 1}])
    worker = _worker_process(app, sandbox, "--no-periodic", "--threads", "1")
    try:
        assert wait_for(lambda: sandbox_calls(sandbox)["total"] > 0, timeout=60)
    finally:
        code, output = _stop(worker, signum)
    assert code == 0, output
    assert result.get(blocking=True, timeout=5) == {
        "checked": 0, "archived": 1, "files_pending": 0}
    assert invoicing.invoice(invoice_id).xml_path


def _alegra_id(app, invoice_id):
    with app.app_context():
        return db.session.get(Invoice, invoice_id).alegra_id
