"""One Alegra rate budget for the whole installation: shared, fed by headers, never slept on
inside a web request."""
import multiprocessing
import re
import threading
import time

import pytest

from conftest import sandbox_calls
from conftest import set_faults
from test_stamping_integrity import wait_for

from apunto_fact import create_app
from apunto_fact import jobs
from apunto_fact.alegra import budget as budget_module
from apunto_fact.alegra.budget import Budget
from apunto_fact.alegra.client import AlegraError
from apunto_fact.extensions import db

KEY = "api.example|ana@example.mx"


def _take_in_another_process(config, attempts, results):
    app = create_app(config)
    with app.app_context():
        shared = Budget(KEY, may_wait=False)
        results.put(sum(1 for _ in range(attempts) if shared.take() == 0.0))
        db.engine.dispose()


def test_processes_and_threads_share_one_window(app, app_config):
    with app.app_context():
        Budget(KEY, may_wait=False).observe(remaining=10, reset_seconds=60)
        db.engine.dispose()
    config = {**app_config, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_take_in_another_process, args=(config, 8, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    granted_here = []

    def take_here():
        with app.app_context():
            shared = Budget(KEY, may_wait=False)
            granted_here.append(sum(1 for _ in range(8) if shared.take() == 0.0))
    threads = [threading.Thread(target=take_here) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    # 32 attempts from 2 processes and 2 threads; the window had 10 left.
    assert sum(granted_here) + results.get(timeout=5) + results.get(timeout=5) == 10


def test_headers_feed_the_budget(app, connected, sandbox):
    set_faults(sandbox, rate_limit=150)
    with app.test_request_context():
        from apunto_fact.settings import alegra
        client = alegra.make_client()
        client.get("/company")
        remaining, reset = client.budget.state()
    assert remaining == 149 and 0 < reset <= 60


def test_background_work_waits_for_the_reset_and_goes_on(app):
    now = [1000.0]
    with app.app_context():
        shared = Budget(KEY, may_wait=True, max_wait=65, clock=lambda: now[0],
                        sleep=lambda s: now.__setitem__(0, now[0] + s))
        shared.observe(remaining=0, reset_seconds=20)
        shared.acquire()
        assert now[0] == pytest.approx(1020.0)
        assert shared.state()[0] == budget_module.LIMIT - 1


def test_a_web_request_is_told_at_once_instead_of_waiting(app):
    with app.app_context():
        shared = Budget(KEY, may_wait=False, clock=lambda: 1000.0,
                        sleep=lambda s: pytest.fail("slept in a web request"))
        shared.observe(remaining=0, reset_seconds=42)
        with pytest.raises(AlegraError) as caught:
            shared.acquire()
    assert caught.value.kind == "busy" and caught.value.reset == 42
    assert "Intenta de nuevo en 42 s" in caught.value.message


def test_no_request_thread_sleeps_for_alegra_when_the_budget_is_spent(invoicing, app, sandbox,
                                                                      monkeypatch):
    """Budget spent: stamping and the connection check answer at once, sending nothing."""
    invoice_id = invoicing.draft()
    with app.test_request_context():
        from apunto_fact.settings import alegra
        alegra.make_client().budget.observe(remaining=0, reset_seconds=50)
    before = sandbox_calls(sandbox)["total"]
    slept = []
    real_sleep = time.sleep
    request_thread = threading.get_ident()

    def watched_sleep(seconds):
        if threading.get_ident() == request_thread:
            slept.append(seconds)
        real_sleep(seconds)
    monkeypatch.setattr(time, "sleep", watched_sleep)
    response = invoicing.stamp(invoice_id)
    status = invoicing.user.post("/configuracion/integraciones/alegra/estado", htmx=True)
    monkeypatch.setattr(time, "sleep", real_sleep)
    assert slept == []
    assert sandbox_calls(sandbox)["total"] == before  # nothing reached Alegra
    # The window had 50 s left; a busy machine may take a second or two to get here.
    assert re.search(r"intenta de nuevo en (4\d|50) s", response.get_data(as_text=True).lower())
    assert invoicing.invoice(invoice_id).status == "draft"  # nothing sent: still editable
    assert status.status_code == 200
    assert re.search(r"intenta de nuevo en (4\d|50) s", status.get_data(as_text=True).lower())


@pytest.fixture
def waitress_server(invoicing, app):
    """The app behind waitress (8 request threads named waitress-N), as `flask serve` runs it."""
    from waitress import create_server
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=30)


def test_budget_spent_stamp_clicks_over_http_never_sleep_a_request_thread(
        invoicing, app, sandbox, waitress_server, monkeypatch):
    """8 users press Timbrar at once with Alegra's minute spent while another browses: the
    clicks queue, every sleep for the budget happens in the queue's workers (never in one of
    waitress's request threads), browsing answers while the stamps wait, and then all are
    stamped with no 429."""
    from test_jobs import real_queue
    from test_stamping_integrity import HttpUser
    slept_in = []
    original_init = Budget.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        real = self.sleep

        def sleep(seconds):
            slept_in.append(threading.current_thread().name)
            real(seconds)
        self.sleep = sleep
    monkeypatch.setattr(Budget, "__init__", recording_init)
    ids = [invoicing.draft() for _ in range(8)]
    versions = {invoice_id: invoicing.version(invoice_id) for invoice_id in ids}
    real_queue(app)
    with app.test_request_context():
        from apunto_fact.settings import alegra
        shared = alegra.make_client().budget
    shared.observe(remaining=0, reset_seconds=50)
    stampers = [HttpUser(waitress_server) for _ in ids]
    browser = HttpUser(waitress_server)
    answers, pages = {}, []

    def press(user, invoice_id):
        data = {**invoicing.form(), "version": str(versions[invoice_id])}
        answers[invoice_id] = user.post(f"/facturas/{invoice_id}/timbrar", data)

    def statuses():
        return {invoicing.invoice(invoice_id).status for invoice_id in ids}

    clicks = [threading.Thread(target=press, args=(user, invoice_id))
              for user, invoice_id in zip(stampers, ids)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    assert {reply.status_code for reply in answers.values()} == {200}
    assert statuses() == {"queued"}  # answered at once: nobody waited for Alegra
    shared.observe(remaining=0, reset_seconds=4)  # Alegra's next minute starts in 4 s
    consumer = jobs.start_consumer(app)
    try:
        while "queued" in statuses():
            reply = browser.http.get(f"{waitress_server}/facturas/", timeout=30)
            pages.append((reply.status_code, "queued" in statuses()))
        assert wait_for(lambda: statuses() == {"stamped"}, timeout=120), statuses()
    finally:
        consumer.stop(graceful=True)

    assert [name for name in slept_in if name.startswith("waitress")] == []
    assert slept_in  # the workers did wait for Alegra's next minute
    assert pages and {status for status, _ in pages} == {200}
    assert any(waiting for _, waiting in pages)  # pages answered while stamps waited
    calls = sandbox_calls(sandbox)["calls"]
    assert calls.get("POST /invoices") == 8
    assert not any(key.endswith("429") for key in calls), calls


def test_an_absurd_reset_from_alegra_is_not_believed(app, connected, sandbox):
    """Alegra (or a proxy) says the window resets in 999,999,999 s: the installation waits at
    most one window, never that long (ATTACK3 Q7)."""
    set_faults(sandbox, rate_limit=1, window=1e9)
    with app.app_context():
        from apunto_fact.settings import alegra
        client = alegra.make_client()
        client.get("/company")  # the window's only request; it answers reset 999999999
        remaining, reset = client.budget.state()
    assert remaining == 0 and 0 < reset <= 65


def test_a_stored_reset_beyond_one_window_counts_as_over(app):
    """A row written before the clamp (or a clock that jumped back) does not block Alegra."""
    now = [1000.0]
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(budget_module.budget_table.insert().values(
                key=KEY, remaining=0, reset_at=now[0] + 999_999_999))
        shared = Budget(KEY, may_wait=True, clock=lambda: now[0],
                        sleep=lambda s: pytest.fail(f"slept {s} s"))
        assert shared.state() == (shared.limit, 0.0)
        shared.wait_for_room()
        shared.acquire()
        assert shared.state() == (shared.limit - 1, 60.0)
