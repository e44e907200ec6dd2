"""What is stamped is what the user saw, exactly once: races, slow Alegra, stale tabs, crashes.

These run against the app served over real HTTP (threads of a werkzeug server, or a
`flask serve` subprocess) and the sandbox with faults and short timeouts from configuration.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from apunto_fact.extensions import db
from conftest import PASSWORD
from conftest import TEST_DATABASE_URL
from conftest import csrf_from
from conftest import sandbox_calls
from conftest import set_faults

# Short timeouts so a "slow Alegra" costs the suite seconds, not minutes.
FAST = {"ALEGRA_CONNECT_TIMEOUT": 1.0, "ALEGRA_STAMP_TIMEOUT": 0.6,
        "RECONCILE_MARGIN_SECONDS": 1.0}


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        """No access log in test output."""


def wait_for(condition, timeout=20.0, step=0.05):
    """Poll condition until it returns something truthy (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


class HttpUser:
    """A signed-in owner talking to a real server with its own cookie jar."""

    def __init__(self, base_url):
        self.base = base_url
        self.http = requests.Session()
        page = self.http.get(f"{base_url}/entrar", timeout=10).text
        self.token = csrf_from(page)
        reply = self.http.post(f"{base_url}/entrar", data={
            "csrf_token": self.token, "username": "duena", "password": PASSWORD},
            allow_redirects=False, timeout=10)
        assert reply.status_code == 303, reply.text[:500]
        self.token = csrf_from(self.http.get(f"{base_url}/facturas/", timeout=10).text)

    def post(self, path, data=None, timeout=30):
        return self.http.post(f"{self.base}{path}", data={"csrf_token": self.token,
                                                          **(data or {})},
                              headers={"HX-Request": "true"}, timeout=timeout)


@pytest.fixture
def served(invoicing, app):
    """The test app over real HTTP on a free port (threaded werkzeug)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast_app_config(app_config):
    """Stamp timeouts of a fraction of a second; grace = 1 + 0.6 + 1 s."""
    app_config.update(FAST)
    return app_config


def _cfdi_of(invoicing):
    return {row["id"]: row for row in invoicing.sandbox_invoices()}


def _stamped_matches_alegra(invoicing, invoice_id):
    """(local total, CFDI total, local quantities, CFDI quantities) of a stamped invoice."""
    local = invoicing.invoice(invoice_id)
    with invoicing.app.app_context():
        from apunto_fact.invoices.models import Invoice
        lines = [line.quantity for line in db.session.get(Invoice, invoice_id).lines]
    remote = _cfdi_of(invoicing)[local.alegra_id]
    return (local.total, Decimal(str(remote["total"])), lines,
            [Decimal(item["quantity"]) for item in remote["items"]])


def test_edit_stamp_race_over_http_stamps_exactly_what_is_stored(invoicing, served, sandbox):
    """10 rounds: 4 saves and 4 stamps of one draft at once, each from the same drawn version."""
    set_faults(sandbox, latency=0.05)
    users = [HttpUser(served) for _ in range(8)]
    mismatches, statuses = 0, []
    for _round in range(10):
        invoice_id = invoicing.draft()
        version = str(invoicing.version(invoice_id))
        before = len(invoicing.sandbox_invoices())
        barrier, replies = threading.Barrier(8), {}

        def act(number):
            user = users[number]
            data = invoicing.form(lines=[{"product_id": invoicing.product_ids[0],
                                          "quantity": str(number + 1)}])
            data["version"] = version
            path = f"/facturas/{invoice_id}" + ("/timbrar" if number % 2 == 0 else "")
            barrier.wait()
            replies[number] = user.post(path, data).status_code

        threads = [threading.Thread(target=act, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses.append(sorted(replies.values()))
        invoice = invoicing.invoice(invoice_id)
        created = len(invoicing.sandbox_invoices()) - before
        if invoice.status == "stamped":
            local_total, cfdi_total, local_q, cfdi_q = _stamped_matches_alegra(invoicing,
                                                                                invoice_id)
            mismatches += (local_total != cfdi_total) or (local_q != cfdi_q)
            assert created == 1
        else:
            assert (invoice.status, created) == ("draft", 0)
    assert mismatches == 0
    assert statuses == [[200] + [409] * 7] * 10


def test_the_editor_carries_the_version_it_shows(invoicing):
    invoice_id = invoicing.draft()
    page = invoicing.user.get(f"/facturas/{invoice_id}").get_data(as_text=True)
    saved = invoicing.save(invoice_id).get_data(as_text=True)
    pattern = r'id="version" name="version" type="hidden" value="(\d+)"'
    assert (re.search(pattern, page).group(1), re.search(pattern, saved).group(1)) == ("1", "2")


def test_stale_save_is_refused_and_shows_the_invoice_as_it_is(invoicing):
    invoice_id = invoicing.draft()
    seen = invoicing.version(invoice_id)
    first = invoicing.save(invoice_id, version=seen,
                           lines=[{"product_id": invoicing.product_ids[0], "quantity": "3"}])
    assert first.status_code == 200
    stale = invoicing.save(invoice_id, version=seen,
                           lines=[{"product_id": invoicing.product_ids[0], "quantity": "7"}])
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "cambió en otra ventana" in html
    assert re.search(r'name="lines-0-quantity"[^>]*value="([^"]*)"', html).group(1) == "3"
    assert [line.quantity for line in _lines(invoicing, invoice_id)] == [Decimal(3)]


def _lines(invoicing, invoice_id):
    with invoicing.app.app_context():
        from apunto_fact.invoices.models import Invoice
        lines = db.session.get(Invoice, invoice_id).lines
        db.session.expunge_all()
        return lines


def test_stale_stamp_posts_nothing(invoicing, sandbox):
    invoice_id = invoicing.draft()
    seen = invoicing.version(invoice_id)
    invoicing.save(invoice_id, version=seen,
                   lines=[{"product_id": invoicing.product_ids[0], "quantity": "2"}])
    response = invoicing.stamp(invoice_id, version=seen)
    assert response.status_code == 409
    assert "cambió en otra ventana" in response.get_data(as_text=True)
    assert invoicing.invoice(invoice_id).status == "draft"
    assert sandbox_calls(sandbox)["calls"].get("POST /invoices") is None


def test_save_without_version_is_refused(invoicing):
    invoice_id = invoicing.draft()
    response = invoicing.user.post(f"/facturas/{invoice_id}", invoicing.form(), htmx=True)
    assert response.status_code == 409


def test_payload_is_built_from_the_version_that_won_the_claim(invoicing, sandbox):
    invoice_id = invoicing.draft()
    response = invoicing.stamp(invoice_id, lines=[{"product_id": invoicing.product_ids[0],
                                                   "quantity": "4"}])
    assert response.status_code == 200
    local_total, cfdi_total, local_q, cfdi_q = _stamped_matches_alegra(invoicing, invoice_id)
    assert (local_total, cfdi_total, local_q, cfdi_q) == (
        Decimal("4640.00"), Decimal("4640.00"), [Decimal(4)], [Decimal(4)])


def test_a_total_that_differs_from_alegras_is_shown_and_logged(invoicing, monkeypatch, caplog):
    from apunto_fact.alegra import mapping
    from apunto_fact.invoices import stamping

    real = mapping.invoice_from_alegra

    def off_by_a_cent(body):
        info = real(body)
        return info.__class__(**{**info.__dict__, "total": info.total + Decimal("0.01")})

    monkeypatch.setattr(stamping.mapping, "invoice_from_alegra", off_by_a_cent)
    invoice_id = invoicing.draft()
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.status, invoice.problem_code) == ("stamped", "totales-distintos")
    assert "Alegra timbró un total de $1,160.01" in html
    assert "differs from ours" in caplog.text


@pytest.mark.usefixtures("fast_app_config")
def test_slow_alegra_with_other_tabs_pressing_meanwhile_over_http(invoicing, served, sandbox):
    """While the POST hangs, another tab's Timbrar and another's Guardar are refused."""
    invoice_id = invoicing.draft()
    before = len(invoicing.sandbox_invoices())
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "action": "delay",
                                "delay": 1.5}])
    first, second, third = HttpUser(served), HttpUser(served), HttpUser(served)
    data = {**invoicing.form(), "version": str(invoicing.version(invoice_id))}
    replies = {}
    pressing = threading.Thread(target=lambda: replies.setdefault(
        "first", first.post(f"/facturas/{invoice_id}/timbrar", data).status_code))
    pressing.start()
    assert wait_for(lambda: sandbox_calls(sandbox)["calls"].get("POST /invoices"))
    replies["second"] = second.post(f"/facturas/{invoice_id}/timbrar", data).status_code
    replies["third"] = third.post(f"/facturas/{invoice_id}", data).status_code
    pressing.join()
    assert replies == {"first": 200, "second": 409, "third": 409}

    def verified():
        third.post(f"/facturas/{invoice_id}/verificar")
        return invoicing.invoice(invoice_id).status != "unknown"

    assert wait_for(verified)
    rows = invoicing.sandbox_invoices()[before:]
    assert (invoicing.invoice(invoice_id).status, len(rows)) == ("stamped", 1)


@pytest.fixture
def late_post_config(app_config):
    """Stamp timeout 0.6 s and a grace (1 + 0.6 + 10 s) well beyond a POST landing at 4 s."""
    app_config.update(FAST, RECONCILE_MARGIN_SECONDS=10.0)
    return app_config


@pytest.mark.usefixtures("late_post_config")
def test_slow_alegra_then_user_retries_gives_one_cfdi(invoicing, sandbox):
    """POST answered after our timeout: unknown, a retry is refused, reading adopts it."""
    invoice_id = invoicing.draft()
    before = len(invoicing.sandbox_invoices())
    # Lands 3.4 s after our timeout: the read right after it must not see it yet, even on a
    # busy machine (with 1.5 s the 0.9 s of slack was sometimes not enough).
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "action": "delay",
                                "delay": 4.0}])
    first = invoicing.stamp(invoice_id)
    assert invoicing.invoice(invoice_id).status == "unknown"
    assert "aún puede llegar" in first.get_data(as_text=True)
    retry = invoicing.stamp(invoice_id)
    assert retry.status_code == 409

    def verified():
        invoicing.user.post(f"/facturas/{invoice_id}/verificar", htmx=True)
        return invoicing.invoice(invoice_id).status != "unknown"

    assert wait_for(verified)
    invoice = invoicing.invoice(invoice_id)
    rows = invoicing.sandbox_invoices()[before:]
    assert (invoice.status, len(rows), invoice.uuid) == ("stamped", 1, rows[0]["uuid"].upper())


def _land_late(app, invoice_id, marker):
    """What a POST that Alegra finished after the grace leaves: a CFDI under an old marker."""
    from apunto_fact.invoices import stamping
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.settings import alegra as connection

    with app.test_request_context():
        invoice = db.session.get(Invoice, invoice_id)
        client = connection.make_client()
        payload, _lookup = stamping._payload(client, invoice, marker)
        return client.post("/invoices", payload)


@pytest.mark.usefixtures("fast_app_config")
def test_cfdi_arriving_after_the_grace_is_found_as_duplicate_and_cancellable(
        invoicing, sandbox, runner, app):
    """Alegra slower than the whole grace: the second CFDI is said, never hidden."""
    from apunto_fact.documents import StampAttempt

    invoice_id = invoicing.draft()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "action": "drop"}])
    invoicing.stamp(invoice_id)
    assert invoicing.invoice(invoice_id).status == "unknown"

    def back_to_draft():
        invoicing.user.post(f"/facturas/{invoice_id}/verificar", htmx=True)
        return invoicing.invoice(invoice_id).status == "draft"

    assert wait_for(back_to_draft, step=0.3)
    assert invoicing.stamp(invoice_id).status_code == 200
    with app.app_context():
        first = db.session.query(StampAttempt).order_by(StampAttempt.id).first().marker
    late = _land_late(app, invoice_id, first)
    result = runner.invoke(args=["reconcile"])
    assert "Alegra tiene 2 CFDI para esta misma factura" in result.output
    page = invoicing.user.get(f"/facturas/{invoice_id}").get_data(as_text=True)
    assert "Cancelar el sobrante (motivo 02)" in page
    with app.app_context():
        extra = db.session.query(StampAttempt).filter_by(outcome="duplicate").one()
        extra_id, extra_uuid = extra.id, extra.uuid
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.problem_code, extra_uuid, invoice.uuid != extra_uuid) == (
        "duplicada", late["stamp"]["uuid"].upper(), True)
    html = invoicing.user.post(f"/facturas/{invoice_id}/cancelar-sobrante/{extra_id}",
                               htmx=True).get_data(as_text=True)
    notice = re.search(r'class="flash warning" role="alert">([^<]*)<', html)
    # the sandbox accepts cancellations at once here (cancel_delay 0)
    assert notice and notice.group(1) == f"El CFDI sobrante {extra_uuid} quedó cancelado."
    assert invoicing.invoice(invoice_id).problem_code is None
    voided = [r for r in invoicing.sandbox_invoices() if r["id"] == str(late["id"])]
    assert voided[0]["cancelMotive"] == "02"


def test_unknown_never_goes_back_to_draft_while_the_post_may_be_in_flight(invoicing, sandbox):
    """Default timeouts: an unanswered POST keeps the invoice unknown, not draft."""
    invoice_id = invoicing.draft()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "action": "drop"}])
    invoicing.stamp(invoice_id)
    invoicing.user.post(f"/facturas/{invoice_id}/verificar", htmx=True)
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.status, invoice.problem_code) == ("unknown", "en-camino")


def test_stamping_left_by_a_dead_thread_is_verified_at_once(invoicing, sandbox, app):
    """A claim whose sender is gone is resolved by «Verificar» without any wait."""
    from apunto_fact import documents
    from apunto_fact.documents import StampAttempt
    from apunto_fact.invoices.models import Invoice

    invoice_id = invoicing.draft()
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert documents.transition(invoice, "stamping", commit=False)
        StampAttempt.open_for(invoice, "deadbeef00", invoice.version,
                              owner=documents.owner.me())  # no thread holds it
        db.session.commit()
    html = invoicing.user.post(f"/facturas/{invoice_id}/verificar",
                               htmx=True).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    # never posted: Alegra cannot have it, so it is editable again at once
    assert (invoice.status, invoice.problem_code) == ("draft", "no-creada")
    assert "Ya puedes timbrarla de nuevo" in html


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(instance, port, sandbox_url, database_url):
    env = {**os.environ, "APUNTO_INSTANCE_PATH": str(instance), "APUNTO_SANDBOX_URL": sandbox_url,
           "FLASK_APP": "apunto_fact", "PYTHONUNBUFFERED": "1"}
    env.pop("APUNTO_DATABASE_URL", None)
    if database_url:
        env["APUNTO_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "serve", "--no-sandbox", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{base}/entrar", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    assert wait_for(up, timeout=30, step=0.1), "flask serve did not start"
    return process, base


def test_kill_9_mid_stamp_then_restart_resolves_to_one_cfdi(invoicing, sandbox, app):
    """kill -9 of the server while Alegra works; the restarted server adopts the one CFDI."""
    instance = app.instance_path
    with open(os.path.join(instance, "config.py"), "w", encoding="utf-8") as fh:
        fh.write("ALEGRA_CONNECT_TIMEOUT = 1.0\nALEGRA_STAMP_TIMEOUT = 5.0\n"
                 "RECONCILE_MARGIN_SECONDS = 1.0\n")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    invoice_id = invoicing.draft()
    before = len(invoicing.sandbox_invoices())
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "action": "delay",
                                "delay": 1.0}])
    port = _free_port()
    process, base = _serve(instance, port, sandbox.url, TEST_DATABASE_URL)
    try:
        user = HttpUser(base)
        data = {**invoicing.form(), "version": str(invoicing.version(invoice_id))}
        threading.Thread(target=lambda: _ignore(user.post, f"/facturas/{invoice_id}/timbrar",
                                                data), daemon=True).start()
        assert wait_for(lambda: sandbox_calls(sandbox)["calls"].get("POST /invoices"))
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert invoicing.invoice(invoice_id).status == "stamping"
    process, base = _serve(instance, port, sandbox.url, TEST_DATABASE_URL)
    try:
        # start-up reads Alegra on its own: nobody presses anything, nothing waits 5 minutes
        assert wait_for(lambda: invoicing.invoice(invoice_id).status == "stamped", timeout=20)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    rows = invoicing.sandbox_invoices()[before:]
    assert (len(rows), invoicing.invoice(invoice_id).uuid) == (1, rows[0]["uuid"].upper())


def _ignore(call, *args):
    try:
        call(*args)
    except requests.RequestException:
        pass


@pytest.mark.parametrize("quantity", ["abc", "1,2,x", "NaN", "Infinity"])
def test_a_bad_amount_is_a_field_error_and_never_zero(invoicing, quantity):
    invoice_id = invoicing.draft(lines=[{"product_id": invoicing.product_ids[0],
                                         "quantity": "2"}])
    response = invoicing.save(invoice_id, lines=[{"product_id": invoicing.product_ids[0],
                                                  "quantity": quantity}])
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="feedback-lines-0-quantity"><p class="error">La cantidad debe ser un '
                     r'número', html)
    assert [line.quantity for line in _lines(invoicing, invoice_id)] == [Decimal(2)]
    assert invoicing.invoice(invoice_id).total == Decimal("2320.00")


@pytest.mark.parametrize("product_id", ["", "-1", "0", "1_000", "١٢٣", "99999999999999999999999"])
def test_a_line_without_a_catalog_product_is_a_field_error(invoicing, app, product_id):
    data = invoicing.form()
    data["lines-0-product_id"] = product_id
    response = invoicing.user.post("/facturas/nueva", data, htmx=True)
    html = response.get_data(as_text=True)
    assert (response.status_code, "Elige un producto o servicio del catálogo" in html) == (
        422, True)
    with app.app_context():
        from apunto_fact.invoices.models import Invoice
        assert db.session.query(Invoice).count() == 0


def test_huge_ids_and_pages_are_not_found_never_500(invoicing):
    huge = "9" * 30
    invoice_id = invoicing.draft()
    assert invoicing.save(invoice_id, version=huge).status_code == 409
    assert invoicing.user.post("/facturas/calcular", {**invoicing.form(), "customer_id": huge,
                                                      "_trigger": "customer_id"},
                               htmx=True).status_code == 200
    assert invoicing.user.get(f"/facturas/?page={huge}").status_code == 200


def test_a_late_cfdi_is_adopted_before_posting_again(invoicing, sandbox, app):
    """Draft again after the grace, then the old POST lands: Timbrar reads first, posts nothing."""
    from apunto_fact.documents import StampAttempt
    from apunto_fact.invoices import stamping
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.settings import alegra as connection
    from apunto_fact.timeutil import utcnow

    invoice_id = invoicing.draft()
    with app.test_request_context():
        # an earlier attempt, concluded "not found", whose POST reached Alegra afterwards
        invoice = db.session.get(Invoice, invoice_id)
        client = connection.make_client()
        payload, lookup = stamping._payload(client, invoice, "1a7e0000000000000000")
        late = client.post("/invoices", payload)
        attempt = StampAttempt.open_for(invoice, "1a7e0000000000000000", invoice.version,
                                        lookup=lookup)
        attempt.posted_at, attempt.outcome = utcnow(), "not_found"
        db.session.commit()
    before = sandbox_calls(sandbox)["calls"].get("POST /invoices")
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    adopted = invoicing.invoice(invoice_id)
    assert (adopted.status, adopted.alegra_id) == ("stamped", str(late["id"]))
    assert "se tomó ese CFDI y no se volvió a timbrar" in html
    assert sandbox_calls(sandbox)["calls"].get("POST /invoices") == before


@pytest.mark.parametrize("body", [
    {"id": "900001", "emissionStatus": "PENDING", "status": "open", "total": "1160.00"},
    "<html>OK</html>", [], None,
])
def test_a_2xx_without_a_stamped_cfdi_is_unknown_never_stamped(invoicing, sandbox, body):
    invoice_id = invoicing.draft()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "status": 201,
                                "body": body if body is not None else ""}])
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.status, invoice.uuid, invoice.problem_code) == ("unknown", None, "en-camino")
    assert "Verificar con Alegra" in html


def test_cancel_still_in_flight_is_not_read_as_refused(invoicing, sandbox):
    """The void is processed late: a poll that still reads 'stamped' keeps it pending."""
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices/", "action": "drop"}])
    invoicing.user.post(f"/facturas/{invoice_id}/cancelar", {"motive": "02"}, htmx=True)
    invoicing.user.get(f"/facturas/{invoice_id}/estado", headers={"HX-Request": "true"})
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.status, invoice.problem_code) == ("cancel_pending", "en-camino")


def test_cancel_extra_cfdi_clicked_three_times_sends_one_void(invoicing, sandbox, app, served):
    from apunto_fact.documents import StampAttempt

    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    with app.app_context():
        first = db.session.query(StampAttempt).one().marker
    late = _land_late(app, invoice_id, "0ld0" + first[4:])
    with app.app_context():
        from apunto_fact.invoices.models import Invoice
        invoice = db.session.get(Invoice, invoice_id)
        extra = StampAttempt.open_for(invoice, "0ld0" + first[4:], invoice.version,
                                      lookup=StampAttempt.of(invoice)[0].lookup_params)
        extra.posted_at, extra.outcome = extra.started_at, "not_found"
        db.session.commit()
    invoicing.user.post(f"/facturas/{invoice_id}/verificar", htmx=True)
    with app.app_context():
        extra_id = db.session.query(StampAttempt).filter_by(outcome="duplicate").one().id
    set_faults(sandbox, latency=0.2)
    users, barrier, codes = [HttpUser(served) for _ in range(3)], threading.Barrier(3), []

    def press(user):
        barrier.wait()
        codes.append(user.post(f"/facturas/{invoice_id}/cancelar-sobrante/{extra_id}")
                     .status_code)

    threads = [threading.Thread(target=press, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    voids = sandbox_calls(sandbox)["calls"].get(f"POST /invoices/{late['id']}/void")
    assert (sorted(codes), voids) == ([200, 200, 200], 1)


def test_a_pending_invoice_under_our_marker_is_voided_when_given_up(invoicing, sandbox, app):
    """F10 leftover: Alegra kept our POST as PENDING past the grace; «no creada» voids it."""
    from apunto_fact.documents import StampAttempt
    from apunto_fact.documents import transition
    from apunto_fact.invoices import stamping
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.settings import alegra as connection
    from apunto_fact.timeutil import utcnow

    app.config["RECONCILE_GRACE_SECONDS"] = 0
    invoice_id = invoicing.draft()
    other_id = invoicing.draft()
    with app.test_request_context():
        invoice = db.session.get(Invoice, invoice_id)
        client = connection.make_client()
        marker = "9e4d1a0000000000000a"
        payload, lookup = stamping._payload(client, invoice, marker)
        payload.pop("stamp")  # Alegra created it but never stamped it: PENDING
        ours = client.post("/invoices", payload)
        # someone else's unstamped invoice of the same customer and day: never touched
        theirs = client.post("/invoices", {**payload, "observations": "capturada en Alegra"})
        assert transition(invoice, "stamping", only_from=("draft",), commit=False)
        attempt = StampAttempt.open_for(invoice, marker, invoice.version, lookup=lookup)
        attempt.posted_at, attempt.outcome = utcnow(), "unknown"
        assert transition(invoice, "unknown", only_from=("stamping",))
    html = invoicing.user.post(f"/facturas/{invoice_id}/verificar", htmx=True).get_data(
        as_text=True)
    remote = _cfdi_of(invoicing)
    assert (invoicing.invoice(invoice_id).status, remote[str(ours["id"])]["status"],
            remote[str(theirs["id"])]["status"], invoicing.invoice(other_id).status) == (
        "draft", "void", theirs["status"], "draft"), html[:2000]


def test_a_late_cfdi_of_content_edited_since_is_never_adopted(invoicing, sandbox, app):
    """Back to draft, the user edits, then the old POST lands: reported as extra, not adopted."""
    from apunto_fact.documents import StampAttempt
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.timeutil import utcnow

    invoice_id = invoicing.draft()
    late = _land_late(app, invoice_id, "ed17ed0000000000000a")
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        lookup = {"client_id": late["client"]["id"], "date": invoice.date.isoformat()}
        attempt = StampAttempt.open_for(invoice, "ed17ed0000000000000a", invoice.version,
                                        lookup=lookup)
        attempt.posted_at, attempt.outcome = utcnow(), "not_found"
        db.session.commit()
    assert invoicing.save(invoice_id, lines=[{"product_id": invoicing.product_ids[0],
                                              "quantity": "5"}]).status_code == 200
    html = invoicing.user.post(f"/facturas/{invoice_id}/verificar",
                               htmx=True).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.status, invoice.uuid, invoice.problem_code) == ("draft", None, "duplicada")
    assert "Cancelar el sobrante (motivo 02)" in html and "con datos que ya cambiaste" in html
