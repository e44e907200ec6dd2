"""Stamping through the task queue: one click answers at once with a place in line, a real
consumer stamps exactly once, lots of drafts are checked first and followed to a summary,
and nothing is lost or doubled when a worker dies or the queue's store fails."""
import contextlib
import os
import re
import signal

import pytest

from apunto_fact import jobs
from apunto_fact.extensions import db
from conftest import TEST_DATABASE_URL
from conftest import sandbox_calls
from conftest import set_faults
from test_stamping_integrity import HttpUser
from test_stamping_integrity import _free_port
from test_stamping_integrity import _serve
from test_stamping_integrity import wait_for

FAST_BUDGET = 100_000  # requests a minute: the suite's lots never wait for Alegra's window


@pytest.fixture
def queue_config(app_config):
    """Tasks go to the queue's SQLite store and wait for a real consumer."""
    app_config.update(JOBS_IMMEDIATE=False, ALEGRA_RATE_LIMIT=FAST_BUDGET)
    return app_config


@contextlib.contextmanager
def consumer(app):
    """The queue's workers, in this process, until the block ends (a graceful stop)."""
    running = jobs.start_consumer(app)
    try:
        yield running
    finally:
        running.stop(graceful=True)


def drafts(invoicing, count):
    """count ready drafts: one through the editor, the rest copies of it."""
    from apunto_fact.invoices import service
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.timeutil import today

    first = invoicing.draft()
    with invoicing.app.app_context():
        original = db.session.get(Invoice, first)
        ids = [first] + [service.duplicate(original, today()).id for _ in range(count - 1)]
        db.session.remove()
    return ids


def statuses(app, ids):
    from apunto_fact.invoices.models import Invoice

    with app.app_context():
        rows = dict(db.session.query(Invoice.id, Invoice.status).filter(Invoice.id.in_(ids)))
        db.session.remove()
    return [rows.get(i) for i in ids]


def attempts(app, invoice_id):
    from apunto_fact.documents import StampAttempt

    with app.app_context():
        count = db.session.query(StampAttempt).filter_by(document_id=invoice_id).count()
        db.session.remove()
    return count


def without_lines(app, invoice_id):
    from apunto_fact.invoices.models import InvoiceLine

    with app.app_context():
        db.session.query(InvoiceLine).filter_by(invoice_id=invoice_id).delete()
        db.session.commit()
        db.session.remove()


def posts(sandbox):
    return sandbox_calls(sandbox)["calls"].get("POST /invoices", 0)


def pending_tasks(app):
    return len(app.extensions["jobs"].huey.pending())


@pytest.mark.usefixtures("queue_config")
def test_timbrar_answers_at_once_with_the_place_in_line_and_the_result_swaps_in(
        invoicing, app, sandbox):
    first, second = drafts(invoicing, 2)
    invoicing.stamp(first)
    response = invoicing.stamp(second)
    html = response.get_data(as_text=True)
    # Nothing reached Alegra yet: the click only queued it.
    assert (response.status_code, posts(sandbox), statuses(app, [first, second])) == (
        200, 0, ["queued", "queued"])
    assert "En cola para timbrar — lugar 2, tiempo estimado ~" in html
    assert 'hx-get="/facturas/%d/cola" hx-trigger="every 2s"' % second in html
    home = invoicing.user.get("/").get_data(as_text=True)
    assert re.search(r'id="stat-queued"[^>]*>\s*<strong>2</strong>', home)
    with consumer(app):
        assert wait_for(lambda: statuses(app, [first, second]) == ["stamped", "stamped"])
    poll = invoicing.user.get(f"/facturas/{second}/cola", headers={"HX-Request": "true"})
    final = poll.get_data(as_text=True)
    number = invoicing.invoice(second).number
    assert (poll.headers["HX-Retarget"], f"Factura {number} timbrada." in final,
            'id="download-xml"' in final, posts(sandbox)) == ("#invoice", True, True, 2)


@pytest.mark.usefixtures("queue_config")
def test_the_same_draft_queued_twice_and_two_workers_give_one_cfdi(invoicing, app, sandbox):
    invoice_id = invoicing.draft()
    version = invoicing.version(invoice_id)
    assert invoicing.stamp(invoice_id, version=version).status_code == 200
    assert invoicing.stamp(invoice_id, version=version).status_code == 409  # second tab
    queued = invoicing.invoice(invoice_id).version
    with app.app_context():
        for _ in range(3):  # a task delivered again, or given again by the requeue
            jobs.queue().stamp(invoice_id, queued)
    assert pending_tasks(app) == 4
    set_faults(sandbox, latency=0.05)
    with consumer(app):
        assert wait_for(lambda: pending_tasks(app) == 0 and
                        statuses(app, [invoice_id]) == ["stamped"])
    assert (posts(sandbox), attempts(app, invoice_id)) == (1, 1)


@pytest.mark.usefixtures("queue_config")
def test_a_queued_invoice_can_be_taken_out_of_the_queue_and_is_never_stamped(
        invoicing, app, sandbox):
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    queued = invoicing.invoice(invoice_id)
    edit = invoicing.save(invoice_id, version=queued.version)
    assert (edit.status_code, "primero quítala de la cola" in edit.get_data(as_text=True)) == (
        409, True)
    taken = invoicing.user.post(f"/facturas/{invoice_id}/quitar-de-la-cola",
                                {"version": str(queued.version)}, htmx=True)
    assert "Se quitó de la cola" in taken.get_data(as_text=True)
    with consumer(app):
        assert wait_for(lambda: pending_tasks(app) == 0)
    assert (statuses(app, [invoice_id]), posts(sandbox)) == (["draft"], 0)


@pytest.mark.usefixtures("queue_config")
def test_queue_store_down_at_enqueue_leaves_a_draft_that_says_so(invoicing, app, sandbox,
                                                                 monkeypatch):
    invoice_id = invoicing.draft()

    def store_down(*_args):
        raise OSError("disk I/O error")

    monkeypatch.setattr(app.extensions["jobs"], "stamp", store_down)
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.status, invoice.problem_code, posts(sandbox)) == ("draft", "cola", 0)
    assert "La cola de timbrado no respondió" in html and "sigue como borrador" in html


@pytest.mark.usefixtures("queue_config")
def test_queued_invoices_whose_task_was_lost_are_given_again_when_a_consumer_starts(
        invoicing, app, sandbox):
    ids = drafts(invoicing, 3)
    for invoice_id in ids:
        invoicing.stamp(invoice_id)
    app.extensions["jobs"].huey.flush()  # the store lost every task (a dead worker took them)
    with consumer(app):
        assert wait_for(lambda: statuses(app, ids) == ["stamped"] * 3)
    assert posts(sandbox) == 3


def test_bulk_checks_every_invoice_first_and_lists_what_happened(invoicing, app, sandbox):
    """Inline tasks: ready ones stamped (one refused by Alegra), the rest never sent."""
    ready = drafts(invoicing, 3)
    no_lines = invoicing.draft()
    without_lines(app, no_lines)
    stale = invoicing.draft()
    seen = invoicing.version(stale)
    invoicing.save(stale)  # edited in another tab after the list was drawn
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "status": 400,
                                "body": {"code": 3051, "message": "Error al timbrar: RFC X"}}])
    selection = [f"{i}:{invoicing.version(i)}" for i in ready + [no_lines]] + [f"{stale}:{seen}"]
    response = invoicing.user.post("/facturas/lotes", {"invoices": selection, "selected": "1"})
    assert response.status_code == 303
    page = invoicing.user.get(response.headers["Location"]).get_data(as_text=True)
    assert statuses(app, ready + [no_lines, stale]) == [
        "rejected", "stamped", "stamped", "draft", "draft"]
    counts = {name: re.search(rf'id="count-{name}"><strong>(\d+)', page).group(1)
              for name in ("done", "pending", "rejected", "unknown", "not-ready")}
    assert counts == {"done": "2", "pending": "0", "rejected": "1", "unknown": "0",
                      "not-ready": "2"}
    assert "Error al timbrar: RFC X" in page and "Agrega al menos un concepto." in page
    assert "Cambió desde que abriste la lista" in page and 'id="lot-summary"' in page
    assert 'hx-trigger="every 2s"' not in page and posts(sandbox) == 3


def test_bulk_of_all_ready_drafts_leaves_out_the_unready_ones(invoicing, app, sandbox):
    ready = drafts(invoicing, 2)
    unready = invoicing.draft()
    without_lines(app, unready)
    response = invoicing.user.post("/facturas/lotes", {"all_ready": "1"})
    page = invoicing.user.get(response.headers["Location"]).get_data(as_text=True)
    summary = re.search(r'id="lot-summary">([^<]*)<', page).group(1)
    assert (statuses(app, ready + [unready]), summary) == (
        ["stamped", "stamped", "draft"], "Terminó: 2 timbradas.")


def test_bulk_without_a_selection_says_what_to_do(invoicing):
    invoicing.draft()
    response = invoicing.user.post("/facturas/lotes", {"selected": "1"})
    page = invoicing.user.get("/facturas/").get_data(as_text=True)
    assert response.status_code == 303 and "Marca al menos una factura" in page


def test_bulk_stamping_needs_the_stamp_permission(invoicing, app):
    from apunto_fact.auth import service as users
    from conftest import PASSWORD
    from conftest import Browserless

    invoice_id = invoicing.draft()
    with app.app_context():
        users.create_user("capturista1", PASSWORD, "capturista")
        db.session.remove()
    clerk = Browserless(app.test_client())
    clerk.login("capturista1")
    listing = clerk.get("/facturas/").get_data(as_text=True)
    refused = clerk.post("/facturas/lotes", {"invoices": [f"{invoice_id}:1"], "selected": "1"})
    assert ("Timbrar seleccionadas" in listing, refused.status_code,
            statuses(app, [invoice_id])) == (False, 403, ["draft"])


@pytest.mark.parametrize("refusal", [
    # Alegra down while the customer is registered: three tries of the read, all 503
    {"method": "GET", "path": "/contacts", "status": 503, "times": 3, "body": {"message": "x"}},
    # Alegra's own per-minute limit on the stamp itself: nothing was created
    {"method": "POST", "path": "/invoices", "status": 429, "times": 1,
     "body": {"message": "Too many requests"}},
])
@pytest.mark.usefixtures("queue_config")
def test_a_queued_stamp_that_could_not_leave_stays_in_line_and_is_tried_again(
        invoicing, app, sandbox, refusal):
    app.config["STAMP_RETRY_DELAYS"] = (0.5,)
    from apunto_fact.documents import StampAttempt

    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    # A short window: Alegra's reset header (when to come back after a 429) says ~2 s.
    set_faults(sandbox, rules=[refusal], window=2)
    with consumer(app):
        assert wait_for(lambda: statuses(app, [invoice_id]) == ["stamped"]), (
            invoicing.invoice(invoice_id).problem_message, sandbox_calls(sandbox))
    with app.app_context():
        outcomes = [a.outcome for a in db.session.query(StampAttempt).filter_by(
            document_id=invoice_id).order_by(StampAttempt.id)]
        db.session.remove()
    assert (outcomes, posts(sandbox) - (refusal["method"] == "POST")) == (
        ["not_sent", "stamped"], 1)


@pytest.mark.usefixtures("queue_config")
def test_a_stamp_alegra_keeps_refusing_to_take_ends_a_draft_that_says_why(
        invoicing, app, sandbox):
    app.config["STAMP_RETRY_DELAYS"] = (0.2, 0.2)
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    set_faults(sandbox, window=2, rules=[{"method": "POST", "path": "/invoices", "status": 429,
                                          "times": None, "body": {"message": "Too many"}}])
    with consumer(app):
        assert wait_for(lambda: attempts(app, invoice_id) == 3 and
                        statuses(app, [invoice_id]) == ["draft"])
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.problem_code, sandbox_calls(sandbox)["calls"].get("POST /invoices")) == (
        "rate", 3)


def _kill(process):
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_kill_9_mid_lot_then_restart_stamps_every_invoice_exactly_once(invoicing, app,
                                                                        sandbox):
    """A `flask serve` (web + embedded workers) killed with SIGKILL while a lot runs; the
    restarted server finishes the lot: every invoice stamped once, by the sandbox's count."""
    count = 40
    ids = drafts(invoicing, count)
    before = len(invoicing.sandbox_invoices())
    with open(os.path.join(app.instance_path, "config.py"), "w", encoding="utf-8") as fh:
        fh.write(f"ALEGRA_CONNECT_TIMEOUT = 1.0\nALEGRA_STAMP_TIMEOUT = 3.0\n"
                 f"RECONCILE_MARGIN_SECONDS = 1.0\nALEGRA_RATE_LIMIT = {FAST_BUDGET}\n")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    set_faults(sandbox, rate_limit=FAST_BUDGET, latency=0.03)
    port = _free_port()
    process, base = _serve(app.instance_path, port, sandbox.url, TEST_DATABASE_URL)
    try:
        reply = HttpUser(base).post("/facturas/lotes", {"all_ready": "1"})
        lot_path = reply.headers["HX-Redirect"]
        assert wait_for(lambda: posts(sandbox) >= count // 4, timeout=60)
    finally:
        _kill(process)
    cut = statuses(app, ids)
    assert cut.count("stamped") < count, "the kill came too late to test anything"
    process, base = _serve(app.instance_path, port, sandbox.url, TEST_DATABASE_URL)
    try:
        assert wait_for(lambda: statuses(app, ids) == ["stamped"] * count, timeout=120), (
            cut, statuses(app, ids))
        page = HttpUser(base).http.get(f"{base}{lot_path}", timeout=10).text
    finally:
        _kill(process)
    uuids = {invoicing.invoice(i).uuid for i in ids}
    rows = invoicing.sandbox_invoices()[before:]
    assert (len(rows), posts(sandbox), len(uuids), {r["uuid"].upper() for r in rows}) == (
        count, count, count, uuids)
    assert f"Terminó: {count} timbradas." in page


@pytest.mark.usefixtures("queue_config")
def test_a_lot_whose_request_died_before_queueing_is_queued_when_a_consumer_starts(
        invoicing, app, sandbox):
    from apunto_fact.invoices import lots

    checked, edited = drafts(invoicing, 2)
    with app.app_context():
        # What a request killed right after the checks leaves: a lot, nothing queued yet.
        lot = lots.StampLot(created_by="duena")
        for position, invoice_id in enumerate((checked, edited)):
            lot.items.append(lots.StampLotItem(invoice_id=invoice_id, position=position,
                                               checked_version=invoicing.version(invoice_id)))
        db.session.add(lot)
        db.session.commit()
        lot_id = lot.id
        db.session.remove()
    invoicing.save(edited)  # the user changed this one since: it is theirs again
    with consumer(app):
        assert wait_for(lambda: statuses(app, [checked]) == ["stamped"])
    page = invoicing.user.get(f"/facturas/lotes/{lot_id}").get_data(as_text=True)
    summary = re.search(r'id="lot-summary">([^<]*)<', page).group(1)
    assert (statuses(app, [checked, edited]), posts(sandbox), summary) == (
        ["stamped", "draft"], 1, "Terminó: 1 timbrada, 1 sin timbrar.")


@pytest.mark.usefixtures("queue_config")
def test_bulk_and_single_stamps_of_one_draft_at_once_give_one_cfdi(invoicing, app, sandbox):
    """Two tabs press Timbrar and two lots include the same draft, all at the same moment."""
    import threading

    from test_stamping_integrity import _Quiet
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        invoice_id = invoicing.draft()
        version = str(invoicing.version(invoice_id))
        users = [HttpUser(base) for _ in range(4)]
        barrier, codes = threading.Barrier(4), []
        single = {**invoicing.form(), "version": version}
        bulk = {"invoices": [f"{invoice_id}:{version}"], "selected": "1"}

        def press(number):
            path, data = (f"/facturas/{invoice_id}/timbrar", single) if number % 2 else \
                ("/facturas/lotes", bulk)
            barrier.wait()
            codes.append(users[number].post(path, data).status_code)

        threads = [threading.Thread(target=press, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with consumer(app):
            assert wait_for(lambda: statuses(app, [invoice_id]) == ["stamped"] and
                            pending_tasks(app) == 0)
    finally:
        server.shutdown()
        server.server_close()
    assert (posts(sandbox), attempts(app, invoice_id)) == (1, 1), codes


@pytest.mark.usefixtures("queue_config")
def test_with_the_budget_spent_the_place_in_line_waits_for_alegras_next_minute(
        invoicing, app):
    from apunto_fact.alegra import budget
    from apunto_fact.settings import alegra as connection

    invoice_id = invoicing.draft()
    with app.test_request_context():
        conn = connection.connection()
        budget.for_user(connection.base_url(conn.environment), conn.api_email).observe(
            remaining=0, reset_seconds=40)
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    place, seconds = re.search(r"lugar (\d+), tiempo estimado ~(\d+) s", html).groups()
    # the worker's pace alone would say ~3 s; Alegra's window opens in 40 s
    assert (place, 35 <= int(seconds) <= 40) == ("1", True)


@pytest.mark.parametrize("value", ["abc", "1:x", "99999999999:1", "-1:1", "1", ""])
def test_a_hostile_selection_is_refused_and_stores_no_lot(invoicing, app, value):
    from apunto_fact.invoices import lots

    invoicing.draft()
    response = invoicing.user.post("/facturas/lotes", {"invoices": [value], "selected": "1"})
    page = invoicing.user.get("/facturas/").get_data(as_text=True)
    with app.app_context():
        stored = db.session.query(lots.StampLot).count()
        db.session.remove()
    assert (response.status_code, "Esa selección no es válida" in page or
            "Marca al menos una factura" in page, stored) == (303, True, 0)


@pytest.mark.usefixtures("queue_config")
def test_a_single_stamp_whose_worker_died_before_posting_is_stamped_after_restart(
        invoicing, app, sandbox):
    from apunto_fact import documents
    from apunto_fact.documents import StampAttempt
    from apunto_fact.invoices.models import Invoice

    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    app.extensions["jobs"].huey.flush()
    with app.app_context():
        # What a worker killed between its claim and its POST leaves behind.
        invoice = db.session.get(Invoice, invoice_id)
        assert documents.transition(invoice, "stamping", only_from=("queued",), commit=False)
        StampAttempt.open_for(invoice, "dead0000000000000000", invoice.version,
                              owner=documents.owner.me())  # no thread holds it: dead
        db.session.commit()
        db.session.remove()
    with consumer(app):
        assert wait_for(lambda: statuses(app, [invoice_id]) == ["stamped"])
    with app.app_context():
        outcomes = [a.outcome for a in db.session.query(StampAttempt).filter_by(
            document_id=invoice_id).order_by(StampAttempt.id)]
        db.session.remove()
    assert (outcomes, posts(sandbox)) == (["not_found", "stamped"], 1)


@pytest.mark.usefixtures("queue_config")
def test_a_draft_edited_after_its_dead_worker_left_it_is_not_requeued(invoicing, app, sandbox):
    from apunto_fact import documents
    from apunto_fact.documents import StampAttempt
    from apunto_fact.invoices import stamping
    from apunto_fact.invoices.models import Invoice

    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    app.extensions["jobs"].huey.flush()
    with app.test_request_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert documents.transition(invoice, "stamping", only_from=("queued",), commit=False)
        StampAttempt.open_for(invoice, "dead0000000000000001", invoice.version,
                              owner=documents.owner.me())
        db.session.commit()
        stamping.reconcile(invoice)  # «no creada»: the user sees it as a draft again
        assert invoice.status == "draft"
        db.session.remove()
    invoicing.save(invoice_id, lines=[{"product_id": invoicing.product_ids[0],
                                       "quantity": "3"}])  # changed before a worker is back
    with consumer(app):
        assert wait_for(lambda: pending_tasks(app) == 0 and
                        app.extensions["jobs"].huey.scheduled_count() == 0)
        with app.app_context():
            jobs.queue().requeue().get(blocking=True, timeout=20)
    assert (statuses(app, [invoice_id]), posts(sandbox)) == (["draft"], 0)


@pytest.mark.usefixtures("queue_config")
def test_queue_store_down_at_a_bulk_stamp_leaves_drafts_and_the_lot_says_so(
        invoicing, app, sandbox, monkeypatch):
    ids = drafts(invoicing, 2)

    def store_down(*_args):
        raise OSError("disk I/O error")

    monkeypatch.setattr(app.extensions["jobs"], "queue_lot", store_down)
    response = invoicing.user.post("/facturas/lotes", {"all_ready": "1"})
    page = invoicing.user.get(response.headers["Location"]).get_data(as_text=True)
    summary = re.search(r'id="lot-summary">([^<]*)<', page).group(1)
    assert (statuses(app, ids), posts(sandbox), summary,
            page.count("La cola de timbrado no respondió")) == (
        ["draft", "draft"], 0, "Terminó: 0 timbradas, 2 no estaban listas.", 2)


@pytest.mark.usefixtures("queue_config")
def test_a_lot_follows_an_invoice_already_in_line_without_queueing_it_again(
        invoicing, app, sandbox):
    invoice_id = invoicing.draft()
    seen = invoicing.version(invoice_id)
    invoicing.stamp(invoice_id)  # queued from its page; the list still showed it as a draft
    response = invoicing.user.post("/facturas/lotes", {"invoices": [f"{invoice_id}:{seen}"],
                                                       "selected": "1"})
    with consumer(app):
        assert wait_for(lambda: statuses(app, [invoice_id]) == ["stamped"] and
                        pending_tasks(app) == 0)
    page = invoicing.user.get(response.headers["Location"]).get_data(as_text=True)
    summary = re.search(r'id="lot-summary">([^<]*)<', page).group(1)
    assert (summary, posts(sandbox)) == ("Terminó: 1 timbrada.", 1)


@pytest.mark.usefixtures("queue_config")
def test_inicio_links_to_a_running_lot_until_it_ends(invoicing, app):
    drafts(invoicing, 2)
    response = invoicing.user.post("/facturas/lotes", {"all_ready": "1"})
    home = invoicing.user.get("/").get_data(as_text=True)
    running = re.search(r'<a href="([^"]+)">Timbrado en curso: ([^<]*)</a>', home)
    assert running.groups() == (response.headers["Location"].replace("http://localhost", ""),
                                "0 de 2 facturas timbradas, 2 pendientes — ver el avance")
    with consumer(app):
        assert wait_for(lambda: "Timbrado en curso" not in
                        invoicing.user.get("/").get_data(as_text=True))


def test_a_selection_naming_one_invoice_twice_makes_one_lot_item(invoicing, app, sandbox):
    from apunto_fact.invoices import lots

    invoice_id = invoicing.draft()
    version = invoicing.version(invoice_id)
    response = invoicing.user.post("/facturas/lotes", {
        "invoices": [f"{invoice_id}:{version}", f"{invoice_id}:{version + 1}"],
        "selected": "1"})
    with app.app_context():
        items = db.session.query(lots.StampLotItem).count()
        db.session.remove()
    assert (response.status_code, items, statuses(app, [invoice_id]), posts(sandbox)) == (
        303, 1, ["stamped"], 1)


def test_all_ready_beyond_the_lot_size_says_how_many_are_left(invoicing, app, monkeypatch):
    from apunto_fact.invoices import lots

    monkeypatch.setattr(lots, "MAX_LOT", 2)
    drafts(invoicing, 3)
    response = invoicing.user.post("/facturas/lotes", {"all_ready": "1"})
    page = invoicing.user.get(response.headers["Location"]).get_data(as_text=True)
    assert ("Este lote lleva los 2 borradores más antiguos; quedan 1." in page,
            re.search(r'id="lot-summary">([^<]*)<', page).group(1)) == (
        True, "Terminó: 2 timbradas.")


@pytest.mark.usefixtures("queue_config")
def test_two_lots_of_the_same_drafts_stamp_each_once_and_one_lot_follows_each(
        invoicing, app, sandbox):
    app.config["JOBS_WORKERS"] = 1  # the two lots are handled in the order they were made
    ids = drafts(invoicing, 3)
    first = invoicing.user.post("/facturas/lotes", {"all_ready": "1"}).headers["Location"]
    second = invoicing.user.post("/facturas/lotes", {"all_ready": "1"}).headers["Location"]
    with consumer(app):
        assert wait_for(lambda: statuses(app, ids) == ["stamped"] * 3 and
                        pending_tasks(app) == 0)
    summaries = sorted(re.search(r'id="lot-summary">([^<]*)<', invoicing.user.get(url).get_data(
        as_text=True)).group(1) for url in (first, second))
    assert (summaries, posts(sandbox)) == (
        ["Terminó: 0 timbradas, 3 no estaban listas.", "Terminó: 3 timbradas."], 3)


@pytest.mark.usefixtures("queue_config")
def test_a_customer_changed_while_the_invoice_waits_in_line_is_never_stamped_unseen(
        invoicing, app, sandbox):
    from conftest import CUSTOMER

    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    edited = invoicing.user.post(f"/clientes/{invoicing.customer_id}",
                                 {**CUSTOMER, "name": "XOCHILT CASAS CHAVEZ DE LEON"}, htmx=True)
    assert edited.status_code == 204
    with consumer(app):
        assert wait_for(lambda: statuses(app, [invoice_id]) == ["draft"])
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.problem_code, posts(sandbox)) == ("desactualizada", 0)
    assert "cambiaron mientras la factura esperaba en la cola" in invoicing.user.get(
        f"/facturas/{invoice_id}").get_data(as_text=True)


@pytest.mark.usefixtures("queue_config")
def test_a_product_unit_changed_while_the_invoice_waits_in_line_is_never_stamped_unseen(
        invoicing, app, sandbox):
    from conftest import PRODUCT

    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    edited = invoicing.user.post(f"/productos/{invoicing.product_ids[0]}",
                                 {**PRODUCT, "clave_unidad": "H87"}, htmx=True)
    assert edited.status_code == 204
    with consumer(app):
        assert wait_for(lambda: statuses(app, [invoice_id]) == ["draft"])
    assert (invoicing.invoice(invoice_id).problem_code, posts(sandbox)) == ("desactualizada", 0)


@pytest.mark.usefixtures("queue_config")
def test_requeue_after_a_dead_worker_lists_each_customer_and_day_once(invoicing, app, sandbox):
    """ATTACK3 Q6: five invoices a dead worker posted (nothing reached Alegra) cost one listing,
    not one per invoice plus another before each goes back in line."""
    import datetime
    from datetime import timedelta

    from apunto_fact import documents
    from apunto_fact.documents import StampAttempt
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.jobs import stamps
    from apunto_fact.timeutil import utcnow
    from conftest import sandbox_control

    ids = [invoicing.draft() for _ in range(5)]
    for invoice_id in ids:
        invoicing.stamp(invoice_id)
    app.extensions["jobs"].huey.flush()
    lookup = {"client_id": "987654321", "date": datetime.date.today().isoformat()}
    long_ago = utcnow() - timedelta(seconds=app.config["RECONCILE_GRACE_SECONDS"] + 60)
    with app.app_context():
        for invoice_id in ids:
            invoice = db.session.get(Invoice, invoice_id)
            assert documents.transition(invoice, "stamping", only_from=("queued",), commit=False)
            attempt = StampAttempt.open_for(invoice, os.urandom(10).hex(), invoice.version,
                                            lookup=lookup, owner=documents.owner.me())
            attempt.posted_at = long_ago
            db.session.commit()
        sandbox_control(sandbox, "stats/reset")
        given = []
        stamps.requeue(set(), lambda *task: given.append(task))
        db.session.remove()
    assert (sandbox_calls(sandbox)["calls"].get("GET /invoices"), statuses(app, ids)) == \
        (1, ["queued"] * 5)
