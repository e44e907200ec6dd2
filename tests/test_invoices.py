"""Invoices against the sandbox over real HTTP: stamp, never twice, rejections, cancel, files."""
import threading
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from apunto_fact.audit.models import AlegraCall
from apunto_fact.extensions import db
from apunto_fact.invoices import stamping
from apunto_fact.invoices.models import Invoice
from apunto_fact.sandbox.server import SandboxServer
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import instance_bytes
from conftest import sandbox_calls
from conftest import sandbox_control
from conftest import set_faults

TFD = "{http://www.sat.gob.mx/TimbreFiscalDigital}TimbreFiscalDigital"


def sandbox_file(sandbox, alegra_id, kind):
    store = sandbox.app.extensions["sandbox"]["store"]
    return store.file(store.get("invoices", alegra_id)["_files"][kind])


def test_full_stamp_stores_uuid_and_files_identical_to_alegras(invoicing, sandbox):
    invoice_id = invoicing.draft(lines=[{"product_id": invoicing.product_ids[0],
                                         "quantity": "2"}])
    response = invoicing.stamp(invoice_id, lines=[{"product_id": invoicing.product_ids[0],
                                                   "quantity": "2"}])
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html  # swapped in place
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "stamped" and invoice.uuid and invoice.folio
    assert f'id="uuid">{invoice.uuid}<' in html and "Descargar XML" in html
    assert invoice.alegra_total == invoice.total == Decimal("2320.00")
    xml = invoicing.user.get(f"/facturas/{invoice_id}/xml")
    pdf = invoicing.user.get(f"/facturas/{invoice_id}/pdf")
    assert xml.data == sandbox_file(sandbox, invoice.alegra_id, "xml")
    assert pdf.data == sandbox_file(sandbox, invoice.alegra_id, "pdf")
    assert pdf.data.startswith(b"%PDF-")
    assert f"{invoice.serie}{invoice.folio}_{invoice.uuid}.xml" in xml.headers[
        "Content-Disposition"]
    stamp = ET.fromstring(xml.data).find(f".//{TFD}")
    assert stamp.get("UUID") == invoice.uuid


def test_second_invoice_for_same_customer_and_products_is_one_request(invoicing, sandbox):
    first = invoicing.draft()
    assert invoicing.stamp(first).status_code == 200
    sandbox_control(sandbox, "stats/reset")
    second = invoicing.draft()
    assert invoicing.stamp(second).status_code == 200
    assert invoicing.invoice(second).status == "stamped"
    assert sandbox_calls(sandbox)["calls"] == {"POST /invoices": 1}


def test_changed_customer_is_updated_once_before_stamping(invoicing, sandbox, app):
    invoicing.stamp(invoicing.draft())
    invoicing.user.post(f"/clientes/{invoicing.customer_id}",
                        {**__import__("conftest").CUSTOMER, "email": "pagos@xochilt.mx"},
                        htmx=True)
    sandbox_control(sandbox, "stats/reset")
    invoicing.stamp(invoicing.draft())
    calls = sandbox_calls(sandbox)["calls"]
    assert calls == {"PUT /contacts/" + invoicing.invoice(1).customer.alegra_id: 1,
                     "POST /invoices": 1}


def test_two_concurrent_stamps_create_one_alegra_invoice(invoicing, sandbox, app):
    invoice_id = invoicing.draft()
    before = len(invoicing.sandbox_invoices())
    set_faults(sandbox, latency=0.4)
    outcomes = []

    def press():
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            outcomes.append(stamping.stamp(invoice, invoice.version))
            db.session.remove()

    with app.test_request_context():
        threads = [threading.Thread(target=press) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(invoicing.sandbox_invoices()) == before + 1
    assert sandbox_calls(sandbox)["calls"].get("POST /invoices") == 1
    assert sum(1 for o in outcomes if o.notice) == 1  # the loser saw "already stamping"
    assert invoicing.invoice(invoice_id).status == "stamped"


def test_double_click_through_http_makes_one_invoice(invoicing, sandbox):
    invoice_id = invoicing.draft()
    before = len(invoicing.sandbox_invoices())
    invoicing.stamp(invoice_id)
    again = invoicing.stamp(invoice_id)
    assert again.status_code == 409
    assert "ya no es un borrador" in again.get_data(as_text=True)
    assert len(invoicing.sandbox_invoices()) == before + 1


def test_commit_then_drop_is_resolved_by_reading_with_the_same_uuid(invoicing, sandbox, runner):
    invoice_id = invoicing.draft()
    before = len(invoicing.sandbox_invoices())
    # The invoice is created and stamped, then the connection drops; the immediate
    # read-back also fails, so the invoice stays "unknown" until reconcile.
    set_faults(sandbox, rules=[
        {"method": "POST", "path": "/invoices", "action": "commit_then_drop"},
        {"method": "GET", "path": "/invoices", "status": 503, "times": 3}])
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    assert invoicing.invoice(invoice_id).status == "unknown"
    assert "Verificar con Alegra" in html and "no vuelvas a timbrarla" in html
    created = invoicing.sandbox_invoices()[-1]
    assert len(invoicing.sandbox_invoices()) == before + 1
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert "Por verificar → Timbrada" in result.output
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "stamped" and invoice.uuid == created["uuid"]
    assert len(invoicing.sandbox_invoices()) == before + 1  # never posted twice
    assert sandbox_calls(sandbox)["calls"]["POST /invoices"] == 1
    assert invoicing.user.get(f"/facturas/{invoice_id}/xml").status_code == 200


def test_commit_then_drop_resolves_at_once_when_alegra_answers_the_read(invoicing, sandbox):
    invoice_id = invoicing.draft()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices",
                                "action": "commit_then_drop"}])
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "stamped" and f'id="uuid">{invoice.uuid}<' in html


def test_verify_button_resolves_unknown_and_never_posts(invoicing, sandbox):
    invoice_id = invoicing.draft()
    set_faults(sandbox, rules=[
        {"method": "POST", "path": "/invoices", "action": "commit_then_drop"},
        {"method": "GET", "path": "/invoices", "status": 500, "times": 3}])
    invoicing.stamp(invoice_id)
    html = invoicing.user.post(f"/facturas/{invoice_id}/verificar", htmx=True).get_data(
        as_text=True)
    assert "Timbrada" in html and invoicing.invoice(invoice_id).status == "stamped"
    assert sandbox_calls(sandbox)["calls"]["POST /invoices"] == 1


def test_unknown_that_alegra_never_received_returns_to_draft(invoicing, sandbox, app):
    app.config["RECONCILE_GRACE_SECONDS"] = 0
    invoice_id = invoicing.draft()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "action": "drop"}])
    invoicing.stamp(invoice_id)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "draft"
    assert "no apareció en Alegra en el tiempo en que un envío puede llegar" in \
        invoice.problem_message
    assert invoicing.stamp(invoice_id).status_code == 200
    assert invoicing.invoice(invoice_id).status == "stamped"


def test_timeout_on_post_becomes_unknown(invoicing, sandbox, app):
    app.config["ALEGRA_STAMP_TIMEOUT"] = 0.5
    invoice_id = invoicing.draft()
    set_faults(sandbox, rules=[
        {"method": "POST", "path": "/invoices", "action": "delay", "delay": 1.0},
        {"method": "GET", "path": "/invoices", "status": 503, "times": 3}])
    invoicing.stamp(invoice_id)
    assert invoicing.invoice(invoice_id).status == "unknown"


@pytest.mark.parametrize("path, method", [("/contacts", "GET"), ("/items", "GET"),
                                          ("/number-templates", "GET")])
def test_timeouts_before_the_invoice_leave_it_editable(invoicing, sandbox, app, path, method):
    app.config["ALEGRA_READ_TIMEOUT"] = 0.3
    invoice_id = invoicing.draft()
    # far beyond the 0.3 s timeout: a starved client thread must still see a timeout
    set_faults(sandbox, rules=[{"method": method, "path": path, "action": "delay",
                                "delay": 5, "times": None}])
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status in ("draft", "rejected") and invoice.editable
    assert "no respondió" in html
    assert sandbox_calls(sandbox)["calls"].get("POST /invoices") is None


@pytest.mark.parametrize("customer, code, hint, field", [
    ({"name": "XOCHILT CASAS"}, "CFDI40145", "exactamente el de su Constancia", "customer.name"),
    ({"cp": "06600"}, "CFDI40147", "domicilio fiscal", "customer.cp"),
    ({"regimen": "626"}, "CFDI40158", "no corresponde a su RFC", "customer.regimen"),
])
def test_sat_rejection_shows_alegras_message_and_the_fix(invoicing, app, customer, code, hint,
                                                         field):
    from conftest import CUSTOMER
    customer_id = invoicing.customer_id
    assert invoicing.user.post(f"/clientes/{customer_id}", {**CUSTOMER, **customer},
                               htmx=True).status_code == 204
    invoice_id = invoicing.draft()
    response = invoicing.stamp(invoice_id)
    html = response.get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "rejected" and invoice.editable
    assert f"Error al timbrar: {code}" in html  # Alegra's own message, verbatim
    assert hint in html and invoice.problem_field == field
    assert f"/clientes/{customer_id}" in html  # a link to fix it


def test_rejected_invoice_can_be_fixed_and_stamped(invoicing):
    from conftest import CUSTOMER
    customer_id = invoicing.customer_id
    invoicing.user.post(f"/clientes/{customer_id}", {**CUSTOMER, "name": "XOCHILT CASAS"},
                        htmx=True)
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    assert invoicing.invoice(invoice_id).status == "rejected"
    invoicing.user.post(f"/clientes/{customer_id}", CUSTOMER, htmx=True)
    assert invoicing.stamp(invoice_id).status_code == 200
    assert invoicing.invoice(invoice_id).status == "stamped"


@pytest.mark.parametrize("status, body, expect_status, text", [
    (401, {"code": 401, "message": "Credenciales inválidas"}, "draft", "Revisa las credenciales"),
    (402, {"code": 402, "message": "Plan sin API"}, "draft", "plan PLUS"),
    (400, {"error": {"code": 3051, "message": "Error al timbrar: CFDI40161 - Uso no válido"}},
     "rejected", "elige otro uso"),
    (429, {"code": 429, "message": "Too Many request"}, "draft", "demasiadas solicitudes"),
    (500, {"error": "Falla interna"}, "unknown", "Verificar con Alegra"),
])
def test_alegra_errors_on_the_invoice_post(invoicing, sandbox, status, body, expect_status, text):
    invoice_id = invoicing.draft()
    rules = [{"method": "POST", "path": "/invoices", "status": status, "body": body}]
    if status == 500:
        rules.append({"method": "GET", "path": "/invoices", "status": 503, "times": 3})
    set_faults(sandbox, rules=rules)
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == expect_status
    assert text in html
    if status in (401, 402, 400):
        assert body.get("message", body.get("error", {}).get("message", "")) in html


PROXY_PAGE = "<html><body><h1>Bad Gateway</h1><hr>nginx</body></html>"


@pytest.mark.parametrize("status, action, expect_status, text", [
    (400, "respond", "unknown", "Verificar con Alegra"),  # maybe sent: read, never «Rechazada»
    (502, "commit_then_respond", "stamped", "Timbrada"),  # it was stamped: found by its marker
])
def test_a_proxy_page_on_the_stamp_post_is_never_a_rejection_nor_shown(
        invoicing, sandbox, status, action, expect_status, text):
    """ATTACK F5: the HTML body stays out of the page; the answer is resolved by reading."""
    invoice_id = invoicing.draft()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "status": status,
                                "body": PROXY_PAGE, "action": action}])
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert (invoice.status, "nginx" in html or "Bad Gateway" in html, text in html,
            sandbox_calls(sandbox)["calls"]["POST /invoices"]) == (expect_status, False, True, 1)


def test_stamp_button_is_disabled_until_everything_is_ready(invoicing, app):
    with app.app_context():
        from apunto_fact.settings.models import Company
        db.session.query(Company).delete()
        db.session.commit()
    invoice_id = invoicing.draft()
    html = invoicing.user.get(f"/facturas/{invoice_id}").get_data(as_text=True)
    assert 'id="stamp-button"' in html and "disabled" in html.split('id="stamp-button"')[1][:600]
    assert "Faltan o están mal los datos fiscales de tu empresa" in html
    assert "/configuracion/facturacion" in html
    response = invoicing.stamp(invoice_id)
    assert response.status_code == 422
    assert invoicing.invoice(invoice_id).status == "draft"


@pytest.mark.parametrize("lines, header, text", [
    ([], {}, "Agrega al menos un concepto"),
    ([{"quantity": "0"}], {}, "La cantidad debe ser mayor que cero"),
    ([{"quantity": "-1"}], {}, "La cantidad no admite valores negativos"),
    ([{"unit_price": "0"}], {}, "El precio debe ser mayor que cero"),
    ([{"quantity": "1.1234567"}], {}, "6 decimales"),
    ([{}], {"currency": "USD", "exchange_rate": ""}, "tipo de cambio"),
    ([{}], {"metodo_pago": "PPD", "forma_pago": "03"}, "CFDI40105"),
    ([{}], {"uso_cfdi": "D01", "customer_id": None}, None),
])
def test_bad_invoices_are_refused_before_alegra(invoicing, sandbox, lines, header, text):
    lines = [{"product_id": invoicing.product_ids[0], **line} for line in lines]
    if header.get("customer_id", 1) is None:
        header = {"uso_cfdi": "CN01"}  # CN01 is only for salaried receptors
        text = "CFDI40161"
    data = invoicing.form(lines=lines or None, **header) if lines else {
        k: v for k, v in invoicing.form(**header).items() if not k.startswith("lines-")}
    saved = invoicing.user.post("/facturas/nueva", data, htmx=True)
    if saved.status_code == 422:
        assert text in saved.get_data(as_text=True)
        return
    invoice_id = int(saved.headers["HX-Redirect"].rsplit("/", 1)[1])
    response = invoicing.user.post(f"/facturas/{invoice_id}/timbrar",
                                   {**data, "version": invoicing.version(invoice_id)}, htmx=True)
    assert response.status_code == 422
    assert text in response.get_data(as_text=True)
    assert invoicing.invoice(invoice_id).status == "draft"
    assert sandbox_calls(sandbox)["calls"].get("POST /invoices") is None


def test_deleted_product_blocks_stamping(invoicing, app):
    invoice_id = invoicing.draft()
    with app.app_context():
        from apunto_fact.products.models import Product
        db.session.query(Product).delete()
        db.session.commit()
    html = invoicing.user.get(f"/facturas/{invoice_id}").get_data(as_text=True)
    assert "el producto ya no existe" in html


def test_stamped_invoice_cannot_be_edited_by_a_crafted_post(invoicing):
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    before = invoicing.invoice(invoice_id)
    forged = invoicing.form(lines=[{"product_id": invoicing.product_ids[0], "quantity": "99"}])
    response = invoicing.user.post(f"/facturas/{invoice_id}", forged, htmx=True)
    assert response.status_code == 409
    assert "ya no es un borrador (está «timbrada»)" in response.get_data(as_text=True)
    after = invoicing.invoice(invoice_id)
    assert after.total == before.total and after.uuid == before.uuid


def test_crafted_line_cannot_change_sat_keys_or_taxes(invoicing, app):
    data = invoicing.form()
    data["lines-0-clave_prod_serv"] = "01010101"
    data["lines-0-iva"] = ""
    invoice_id = invoicing.user.post("/facturas/nueva", data, htmx=True).headers[
        "HX-Redirect"].rsplit("/", 1)[1]
    with app.app_context():
        [line] = db.session.get(Invoice, int(invoice_id)).lines
        assert (line.clave_prod_serv, line.iva) == ("80101500", "16")


@pytest.mark.parametrize("motive", ["02", "03", "04"])
def test_cancel_with_each_motive(invoicing, sandbox, motive):
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    set_faults(sandbox, cancel_delay=30)
    html = invoicing.user.post(f"/facturas/{invoice_id}/cancelar", {"motive": motive},
                               htmx=True).get_data(as_text=True)
    assert "En proceso de cancelación" in html and 'hx-trigger="every 5s"' in html
    assert invoicing.invoice(invoice_id).status == "cancel_pending"
    set_faults(sandbox, cancel_delay=0)
    html = invoicing.user.get(f"/facturas/{invoice_id}/estado",
                              headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Cancelada" in html
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "cancelled" and invoice.cancel_motive == motive


def test_cancel_motive_01_requires_the_stamped_replacement(invoicing, sandbox):
    original = invoicing.draft()
    invoicing.stamp(original)
    response = invoicing.user.post(f"/facturas/{original}/cancelar", {"motive": "01"},
                                   htmx=True)
    assert response.status_code == 422
    assert "elige la factura timbrada que sustituye" in response.get_data(as_text=True)
    forged = invoicing.user.post(f"/facturas/{original}/cancelar",
                                 {"motive": "01", "replacement_uuid": "not-a-uuid"}, htmx=True)
    assert forged.status_code == 422
    replacement = invoicing.draft()
    invoicing.stamp(replacement)
    uuid = invoicing.invoice(replacement).uuid
    page = invoicing.user.get(f"/facturas/{original}").get_data(as_text=True)
    assert f'value="{uuid}"' in page  # offered among the customer's stamped invoices
    html = invoicing.user.post(f"/facturas/{original}/cancelar",
                               {"motive": "01", "replacement_uuid": uuid.lower()},
                               htmx=True).get_data(as_text=True)
    assert "Cancelada" in html or "En proceso de cancelación" in html
    store = sandbox.app.extensions["sandbox"]["store"]
    voided = store.get("invoices", invoicing.invoice(original).alegra_id)
    assert voided["replacementUuid"] == uuid and voided["cancelMotive"] == "01"


def test_refused_cancellation_returns_to_stamped(invoicing, sandbox, runner):
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    set_faults(sandbox, cancel_delay=30, cancel_outcome="refuse")
    invoicing.user.post(f"/facturas/{invoice_id}/cancelar", {"motive": "02"}, htmx=True)
    set_faults(sandbox, cancel_delay=0)
    # Right after our own void request, "still stamped" is not a refusal (ATTACK F4).
    assert "Timbrada" not in runner.invoke(args=["reconcile"]).output
    assert invoicing.invoice(invoice_id).status == "cancel_pending"
    backdate_cancel_request(invoicing.app, invoice_id)  # the grace has passed
    result = runner.invoke(args=["reconcile"])
    assert "En proceso de cancelación → Timbrada" in result.output
    assert "La cancelación no se completó" in invoicing.invoice(invoice_id).problem_message


def backdate_cancel_request(app, invoice_id):
    """Move the cancel request past the grace in which our void may still be on its way."""
    import datetime
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        invoice.cancel_requested_at = invoice.cancel_requested_at - datetime.timedelta(hours=1)
        db.session.commit()


def test_cancel_of_a_draft_is_refused(invoicing):
    invoice_id = invoicing.draft()
    response = invoicing.user.post(f"/facturas/{invoice_id}/cancelar", {"motive": "02"},
                                   htmx=True)
    assert "Solo una factura timbrada se puede cancelar" in response.get_data(as_text=True)
    assert invoicing.invoice(invoice_id).status == "draft"


def test_downloads_work_with_the_sandbox_stopped(connected, app, tmp_path):
    own = SandboxServer(str(tmp_path / "own.sqlite"), email=SANDBOX_EMAIL,
                        token=SANDBOX_TOKEN).start()
    app.config["ALEGRA_SANDBOX_URL"] = own.url
    invoicing = __import__("conftest").Invoicing(connected, app, own)
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    expected = sandbox_file(own, invoicing.invoice(invoice_id).alegra_id, "pdf")
    own.stop()
    response = connected.get(f"/facturas/{invoice_id}/pdf")
    assert response.status_code == 200 and response.data == expected
    assert connected.get(f"/facturas/{invoice_id}/xml").status_code == 200


def test_missing_file_is_fetched_again_from_alegra(invoicing, app):
    import os
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    invoice = invoicing.invoice(invoice_id)
    os.remove(os.path.join(app.config["ARCHIVE_PATH"], invoice.xml_path))
    assert invoicing.user.get(f"/facturas/{invoice_id}/xml").status_code == 200


def test_bitacora_records_calls_and_never_the_token(invoicing, sandbox, app):
    invoice_id = invoicing.draft()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "status": 400,
                                "body": {"code": 3051, "message": "Error al timbrar: X"}}])
    invoicing.stamp(invoice_id)
    page = invoicing.user.get("/bitacora/?resultado=errores").get_data(as_text=True)
    assert "/invoices" in page and "Error al timbrar: X" in page and "3051" in page
    with app.app_context():
        calls = db.session.query(AlegraCall).all()
        assert any(c.invoice_id == invoice_id and c.status == 400 for c in calls)
        assert all(SANDBOX_TOKEN not in (c.message or "") + c.path for c in calls)
        db.session.remove()
        db.engine.dispose()
    assert SANDBOX_TOKEN.encode() not in instance_bytes(app)
    assert SANDBOX_TOKEN not in page


def test_invoice_list_filters_and_search(invoicing):
    stamped = invoicing.draft()
    invoicing.stamp(stamped)
    invoicing.draft()
    html = invoicing.user.get("/facturas/?estado=stamped", headers={"HX-Request": "true"})
    rows = html.get_data(as_text=True)
    assert "<html" not in rows and rows.count("Timbrada") == 1 and "Borrador" not in rows
    assert "XOCHILT" in invoicing.user.get("/facturas/?q=xochilt").get_data(as_text=True)
    empty = invoicing.user.get("/facturas/?q=nadie").get_data(as_text=True)
    assert "No hay facturas con esos filtros" in empty


def test_live_recalculation_returns_totals_fragment(invoicing):
    data = invoicing.form(lines=[{"product_id": invoicing.product_ids[0], "quantity": "3"}])
    response = invoicing.user.post("/facturas/calcular", {**data, "_trigger": "lines-0-quantity"},
                                   htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="totals"' in html and "$3,480.00" in html  # 3 × 1000 + IVA 16 %
    assert 'id="line-amount-0" hx-swap-oob="true">$3,000.00' in html
    assert 'name="lines-0-quantity"' not in html  # the input being typed in is left alone


@pytest.mark.parametrize("sat_code, field, hint", [
    ("CFDI40143", "customer.rfc", "no está en la lista del SAT"),  # rule 3: only the SAT knows
    ("CFDI40101", "date", "últimas 72 horas"),
    ("CFDI40162", "lines", "clave de producto no existe"),
])
def test_relayed_sat_codes_point_at_their_field(invoicing, sandbox, sat_code, field, hint):
    invoice_id = invoicing.draft()
    message = f"Error al timbrar: {sat_code} - Mensaje del SAT"
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "status": 400,
                                "body": {"error": {"code": 3051, "message": message}}}])
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "rejected" and invoice.problem_field == field
    assert message in html and hint in html


def test_changed_product_is_updated_once_before_stamping(invoicing, sandbox):
    from conftest import PRODUCT
    invoicing.stamp(invoicing.draft())
    product_id = invoicing.product_ids[0]
    assert invoicing.user.post(f"/productos/{product_id}", {**PRODUCT, "unit_price": "1100"},
                               htmx=True).status_code == 204
    sandbox_control(sandbox, "stats/reset")
    invoicing.stamp(invoicing.draft())
    calls = sandbox_calls(sandbox)["calls"]
    puts = [k for k in calls if k.startswith("PUT /items/")]
    assert len(puts) == 1 and calls[puts[0]] == 1
    assert calls["POST /invoices"] == 1 and sum(calls.values()) == 2


def test_live_preview_never_saves_a_draft(invoicing, app):
    data = invoicing.form()
    for _ in range(3):
        invoicing.user.post("/facturas/calcular", {**data, "_trigger": "lines-0-quantity"},
                            htmx=True)
    invoicing.user.get("/facturas/nueva")
    with app.app_context():
        assert db.session.query(Invoice).count() == 0


def test_unexpected_error_before_posting_leaves_the_invoice_editable(invoicing, monkeypatch):
    from apunto_fact.invoices import sync

    def broken(*_args, **_kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(sync, "ensure_contact", broken)
    invoice_id = invoicing.draft()
    html = invoicing.stamp(invoice_id).get_data(as_text=True)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "draft" and "no se creó nada ni se usó folio" in html
    assert "bug" not in html and "Traceback" not in html


@pytest.mark.parametrize("field, value, message", [
    ("observations", "x" * 2_000_000, "Hasta 500 caracteres"),
    ("lines-0-description", "d" * 1001, "Hasta 1000 caracteres"),
    ("date", "2026-02-30", "fecha"),
])
def test_oversized_or_malformed_editor_fields_are_not_saved(invoicing, app, field, value,
                                                            message):
    data = {**invoicing.form(), field: value}
    response = invoicing.user.post("/facturas/nueva", data, htmx=True)
    assert response.status_code == 422
    assert message.lower() in response.get_data(as_text=True).lower()
    with app.app_context():
        assert db.session.query(Invoice).count() == 0


def test_a_date_72_hours_back_is_refused_before_stamping(invoicing, app, sandbox):
    """ATTACK F14: Fecha = date + emission time, so 3 days back is past the SAT's 72 h."""
    import datetime
    from apunto_fact.invoices import readiness
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.extensions import db
    today = datetime.date.today()
    two_back = (today - datetime.timedelta(days=2)).isoformat()
    invoice_id = invoicing.draft(date=two_back)  # still stampable today: a warning only
    with app.test_request_context():
        invoice = db.session.get(Invoice, invoice_id)
        now = readiness.problems(invoice, today=today)
        tomorrow = readiness.problems(invoice, today=today + datetime.timedelta(days=1))
    three_back = invoicing.user.post("/facturas/nueva", invoicing.form(
        date=(today - datetime.timedelta(days=3)).isoformat()), htmx=True)
    assert ([p.field for p in now], [p.field for p in tomorrow], three_back.status_code,
            "72 horas atrás (CFDI40101)" in three_back.get_data(as_text=True)) == (
        [], ["date"], 422, True)
