"""Payments and their REP in the app, against the sandbox over real HTTP."""
import re
import xml.etree.ElementTree as ET
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

import pytest

from apunto_fact.extensions import db
from apunto_fact.payments.models import Payment
from cfdi_check import xsd_errors
from conftest import sandbox_calls
from conftest import sandbox_control
from conftest import set_faults

PAGOS = "{http://www.sat.gob.mx/Pagos20}"


def form_token(invoicing, query):
    html = invoicing.user.get(f"/pagos/nuevo?{query}").get_data(as_text=True)
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def register(invoicing, applications, amount=None, token=None, **fields):
    first = applications[0][0]
    token = token or form_token(invoicing, f"cliente={first.customer_id}")
    data = {"customer_id": str(first.customer_id), "form_token": token,
            "paid_date": date.today().isoformat(), "paid_time": "00:01", "forma_pago": "03",
            "currency": "MXN", "exchange_rate": "", "operation_number": "",
            "amount": str(amount if amount is not None else sum(Decimal(a) for _, a in
                                                                applications))}
    for invoice, value in applications:
        data[f"apply-{invoice.id}"] = str(value)
    data.update(fields)
    return invoicing.user.post("/pagos/nuevo", data, htmx=True)


def last_payment(app):
    with app.app_context():
        payment = db.session.query(Payment).order_by(Payment.id.desc()).first()
        db.session.expunge(payment)
        return payment


def rep_of(invoicing, payment):
    xml = invoicing.user.get(f"/pagos/{payment.id}/xml").data
    assert xsd_errors(xml) == []
    return ET.fromstring(xml)


def test_invoice_shows_balance_and_two_partial_payments_end_at_zero(invoicing, app):
    invoice = invoicing.stamped()
    page = invoicing.user.get(f"/facturas/{invoice.id}").get_data(as_text=True)
    assert 'id="balance-pending">$1,160.00' in page and "Registrar pago" in page
    first = register(invoicing, [(invoice, "600.00")])
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and 'id="rep-status">REP timbrado' in html
    assert "Descargar XML del complemento" in html  # stamped in place
    one = last_payment(app)
    second = register(invoicing, [(invoice, "560.00")])
    assert second.status_code == 200
    two = last_payment(app)
    docs = [rep_of(invoicing, p).find(f".//{PAGOS}DoctoRelacionado") for p in (one, two)]
    assert [(d.get("IdDocumento"), d.get("NumParcialidad"), d.get("ImpSaldoAnt"),
             d.get("ImpPagado"), d.get("ImpSaldoInsoluto")) for d in docs] == [
        (invoice.uuid, "1", "1160.00", "600.00", "560.00"),
        (invoice.uuid, "2", "560.00", "560.00", "0.00")]
    page = invoicing.user.get(f"/facturas/{invoice.id}").get_data(as_text=True)
    assert 'id="balance-paid">$1,160.00' in page and 'id="balance-pending">$0.00' in page
    assert "Registrar pago" not in page
    pdf = invoicing.user.get(f"/pagos/{two.id}/pdf")
    assert pdf.data.startswith(b"%PDF-") and f"{two.uuid}.pdf" in pdf.headers[
        "Content-Disposition"]


def test_one_payment_over_three_invoices_is_one_rep(invoicing, sandbox, app):
    invoices = [invoicing.stamped(quantity=q) for q in ("1", "2", "3")]
    sandbox_control(sandbox, "stats/reset")
    response = register(invoicing, [(i, i.total) for i in invoices])
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    root = rep_of(invoicing, last_payment(app))
    assert [d.get("IdDocumento") for d in root.iter(f"{PAGOS}DoctoRelacionado")] == [
        i.uuid for i in invoices]
    # Steady state: customer known, bank account cached after the first REP of the account.
    calls = sandbox_calls(sandbox)["calls"]
    assert calls.get("POST /payments") == 1


def test_steady_state_rep_costs_one_request(invoicing, sandbox):
    invoice = invoicing.stamped()
    register(invoicing, [(invoice, "100.00")])
    sandbox_control(sandbox, "stats/reset")
    register(invoicing, [(invoice, "100.00")])
    assert sandbox_calls(sandbox)["calls"] == {"POST /payments": 1}


def _refusal(invoicing, app, field, text, applications, **fields):
    response = register(invoicing, applications, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:1500]
    block = re.search(rf'id="field-{field}".*?</(div|tr)>', html, re.S)
    assert block and text in block.group(0), html[:3000]
    with app.app_context():
        assert db.session.query(Payment).count() == 0


@pytest.mark.parametrize("field, text, fields", [
    ("forma_pago", "CRP20212", {"forma_pago": "99"}),
    ("exchange_rate", "CRP20214", {"currency": "USD"}),
    ("paid_at", "no puede ser futura", {"paid_date": (date.today() + timedelta(days=2))
                                        .isoformat()}),
    ("paid_at", "anterior a la factura", {"paid_date": (date.today() - timedelta(days=3))
                                          .isoformat()}),
    ("amount", "CRP20217", {"amount": "100.00"}),
])
def test_each_refusal_is_shown_at_its_field(invoicing, sandbox, app, field, text, fields):
    invoice = invoicing.stamped()
    _refusal(invoicing, app, field, text, [(invoice, "600.00")], **fields)
    assert "POST /payments" not in sandbox_calls(sandbox)["calls"]


def test_overpayment_is_refused_at_the_invoice(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    _refusal(invoicing, app, f"apply-{invoice.id}", "CRP20244", [(invoice, "1160.01")])


@pytest.mark.parametrize("kind", ["PUE", "cancelled"])
def test_pue_and_cancelled_invoices_are_refused(invoicing, sandbox, app, kind):
    invoice = invoicing.stamped(metodo="PUE" if kind == "PUE" else "PPD")
    if kind == "cancelled":
        invoicing.user.post(f"/facturas/{invoice.id}/cancelar", {"motive": "02"}, htmx=True)
        assert invoicing.invoice(invoice.id).status == "cancelled"
    response = register(invoicing, [(invoice, "100.00")])
    html = response.get_data(as_text=True)
    expected = "es PUE" if kind == "PUE" else "está cancelada"
    assert response.status_code == 422 and expected in html
    assert "other-invoice-error" in html
    assert "POST /payments" not in sandbox_calls(sandbox)["calls"]


def test_two_tabs_posting_the_same_form_register_one_payment(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    store = sandbox.app.extensions["sandbox"]["store"]
    before = len(store.all("payments"))
    token = form_token(invoicing, f"factura={invoice.id}")
    register(invoicing, [(invoice, "100.00")], token=token)
    again = register(invoicing, [(invoice, "100.00")], token=token)
    assert "ya se registró desde esta misma pantalla" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Payment).count() == 1
    assert len(store.all("payments")) == before + 1


def test_timeout_after_stamping_resolves_to_one_rep_by_reading(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    store = sandbox.app.extensions["sandbox"]["store"]
    before = len(store.all("payments"))
    set_faults(sandbox, rules=[{"method": "POST", "path": "/payments",
                                "action": "commit_then_drop"}])
    response = register(invoicing, [(invoice, "500.00")])
    assert response.status_code == 200
    payment = last_payment(app)
    assert payment.status == "stamped" and payment.uuid  # read back at once under its marker
    assert len(store.all("payments")) == before + 1
    assert store.all("payments")[-1]["uuid"] == payment.uuid
    calls = sandbox_calls(sandbox)["calls"]
    assert calls.get("POST /payments") == 1 and calls.get("GET /payments") == 1


def test_unknown_rep_is_verified_by_reading_and_never_posted_again(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    # Lost answer AND the immediate read fails: the payment stays «por verificar».
    set_faults(sandbox, rules=[{"method": "POST", "path": "/payments",
                                "action": "commit_then_drop"},
                               {"method": "GET", "path": "/payments", "status": 503,
                                "times": 3}])
    register(invoicing, [(invoice, "500.00")])
    payment = last_payment(app)
    assert payment.status == "unknown"
    sandbox_control(sandbox, "stats/reset")
    html = invoicing.user.post(f"/pagos/{payment.id}/verificar", htmx=True).get_data(
        as_text=True)
    assert 'id="rep-status">REP timbrado' in html
    assert "POST /payments" not in sandbox_calls(sandbox)["calls"]


def test_reading_where_post_only_registers_stamps_that_same_payment(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    sandbox_control(sandbox, "payments", {"stamp_on_post": False})
    try:
        register(invoicing, [(invoice, "1160.00")])
    finally:
        sandbox_control(sandbox, "payments", {"stamp_on_post": True})
    payment = last_payment(app)
    assert payment.status == "stamped"
    assert rep_of(invoicing, payment).find(f".//{PAGOS}DoctoRelacionado").get(
        "ImpSaldoInsoluto") == "0.00"


def test_invoice_with_a_rep_cannot_be_cancelled_until_the_rep_is(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    register(invoicing, [(invoice, "100.00")])
    payment = last_payment(app)
    refused = invoicing.user.post(f"/facturas/{invoice.id}/cancelar", {"motive": "02"},
                                  htmx=True)
    assert refused.status_code == 422
    assert "Cancela primero esos complementos de pago" in refused.get_data(as_text=True)
    assert invoicing.invoice(invoice.id).status == "stamped"
    cancelled = invoicing.user.post(f"/pagos/{payment.id}/cancelar", {"motive": "02"},
                                    htmx=True)
    assert "Cancelado" in cancelled.get_data(as_text=True)
    page = invoicing.user.get(f"/facturas/{invoice.id}").get_data(as_text=True)
    assert 'id="balance-pending">$1,160.00' in page
    invoicing.user.post(f"/facturas/{invoice.id}/cancelar", {"motive": "02"}, htmx=True)
    assert invoicing.invoice(invoice.id).status == "cancelled"


def test_pending_view_and_home_mark_for_last_months_payments(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/payments", "status": 400,
                                "body": {"code": 400, "message": "Servicio no disponible"}}])
    register(invoicing, [(invoice, "100.00")])
    payment = last_payment(app)
    assert payment.status == "rejected"
    with app.app_context():
        row = db.session.get(Payment, payment.id)
        row.paid_at = datetime.combine(date.today().replace(day=1) - timedelta(days=3),
                                       datetime.min.time())
        db.session.commit()
    listing = invoicing.user.get("/pagos/por-complementar").get_data(as_text=True)
    assert f'href="/pagos/{payment.id}"' in listing
    home = invoicing.user.get("/").get_data(as_text=True)
    assert "1 pago(s) del mes pasado sin complemento de pago" in home


def test_rep_is_in_the_months_archive(invoicing, app):
    import csv
    import io
    import zipfile
    invoice = invoicing.stamped()
    register(invoicing, [(invoice, "300.00")])
    payment = last_payment(app)
    month = date.today().strftime("%Y-%m")
    zf = zipfile.ZipFile(io.BytesIO(invoicing.user.get(f"/archivo/mes?mes={month}").data))
    assert f"xml/{payment.serie}{payment.folio}_{payment.uuid}.xml" in zf.namelist()
    rows = list(csv.DictReader(io.StringIO(zf.read("registro.csv").decode("utf-8-sig"))))
    by_type = {r["tipo"]: r for r in rows}
    assert by_type["P"]["UUID"] == payment.uuid and by_type["P"]["total"] == "300.00"
    assert (by_type["I"]["pagado"], by_type["I"]["saldo"]) == ("300.00", "860.00")


def test_rep_is_sent_by_email_once(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    register(invoicing, [(invoice, "300.00")])
    payment = last_payment(app)
    page = invoicing.user.get(f"/pagos/{payment.id}").get_data(as_text=True)
    token = re.search(r'name="send_token" value="([^"]+)"', page).group(1)
    for _ in range(2):
        invoicing.user.post(f"/correo/payment/{payment.id}",
                            {"recipients": "pagos@cliente.mx", "send_token": token}, htmx=True)
    emails = [e for e in sandbox_control(sandbox, "emails", method="GET").json()
              if e["uuid"] == payment.uuid]
    assert [e["emails"] for e in emails] == [["pagos@cliente.mx"]]


def test_two_registrations_at_once_cannot_overpay(invoicing, sandbox, app):
    import threading
    from apunto_fact.customers.models import Customer
    from apunto_fact.payments import service
    invoice = invoicing.stamped()
    outcomes, barrier = [], threading.Barrier(2)

    def press(token):
        with app.test_request_context():
            customer = db.session.get(Customer, invoice.customer_id)
            data = {"paid_at": datetime.now().replace(hour=0, minute=1), "forma_pago": "03",
                    "currency": "MXN", "exchange_rate": None, "amount": Decimal("1000.00")}
            barrier.wait()
            result = service.register(customer, data, {invoice.id: Decimal("1000.00")}, token,
                                      "duena")
            if result.payment is not None:
                from apunto_fact.payments import stamping as rep
                rep.stamp(result.payment)
            outcomes.append(result.errors)
            db.session.remove()

    threads = [threading.Thread(target=press, args=(t,)) for t in ("tab-1", "tab-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [e for e in outcomes if e]
    assert len(refused) == 1 and "CRP20244" in refused[0][f"apply-{invoice.id}"]
    with app.app_context():
        [payment] = db.session.query(Payment).all()
        assert payment.status == "stamped"


def test_a_payment_without_rep_holds_the_balance_until_discarded(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/payments", "status": 400,
                                "body": {"code": 400, "message": "Cuenta bloqueada"}}])
    html = register(invoicing, [(invoice, "400.00")]).get_data(as_text=True)
    assert "REP rechazado" in html and "Cuenta bloqueada" in html
    payment = last_payment(app)
    page = invoicing.user.get(f"/facturas/{invoice.id}").get_data(as_text=True)
    assert 'id="balance-pending">$760.00' in page  # the money arrived; only the REP is due
    over = register(invoicing, [(invoice, "800.00")])
    assert over.status_code == 422 and "CRP20244" in over.get_data(as_text=True)
    invoicing.user.post(f"/pagos/{payment.id}/descartar", htmx=True)
    page = invoicing.user.get(f"/facturas/{invoice.id}").get_data(as_text=True)
    assert 'id="balance-pending">$1,160.00' in page


def test_process_killed_while_stamping_is_resolved_by_reading(invoicing, sandbox, app):
    from apunto_fact.documents import StampAttempt
    from apunto_fact.documents import transition
    from apunto_fact.payments import stamping as rep
    invoice = invoicing.stamped()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/payments", "status": 400,
                                "body": {"code": 400, "message": "x"}}])
    register(invoicing, [(invoice, "100.00")])  # a rejected payment to retry
    payment = last_payment(app)
    with app.test_request_context():
        row = db.session.get(Payment, payment.id)
        # A dead process claimed it and never posted (its owner no longer exists).
        assert transition(row, "stamping", only_from=("rejected",), commit=False)
        db.session.add(StampAttempt(document_type="payment", document_id=row.id,
                                    version=row.version, marker="dead-sender-marker",
                                    owner="otherhost|0|1|0.0", started_at=datetime(2020, 1, 1)))
        db.session.commit()
        assert [p.id for p in rep.pending()] == [row.id]
        rep.reconcile(row)
        assert row.status == "draft" and "no registró este pago" in row.problem_message


def test_register_payment_from_the_customer_lists_only_open_ppd_invoices(invoicing, app):
    open_one, paid, pue = invoicing.stamped(), invoicing.stamped(), invoicing.stamped("PUE")
    register(invoicing, [(paid, "1160.00")])
    page = invoicing.user.get(f"/clientes/{invoicing.customer_id}").get_data(as_text=True)
    assert f"/pagos/nuevo?cliente={invoicing.customer_id}" in page
    form = invoicing.user.get(f"/pagos/nuevo?cliente={invoicing.customer_id}").get_data(
        as_text=True)
    assert f'name="apply-{open_one.id}"' in form
    assert f'name="apply-{paid.id}"' not in form and f'name="apply-{pue.id}"' not in form


@pytest.mark.parametrize("field, value", [
    ("amount", "1e400"), ("amount", "NaN"), ("amount", "-5"), ("amount", "١٢٣"),
    ("amount", "9" * 40), ("paid_date", "2026-02-30"), ("paid_time", "25:99"),
    ("forma_pago", "zz"), ("currency", "<script>"), ("exchange_rate", "-1"),
    ("operation_number", "a|b"), ("operation_number", "x" * 300),
    ("apply-99999999999999999999", "10"), ("customer_id", "99999999999999999999"),
])
def test_hostile_payment_input_gets_a_spanish_answer_never_a_500(invoicing, app, field,
                                                                  value):
    invoice = invoicing.stamped()
    response = register(invoicing, [(invoice, "100.00")], **{field: value})
    assert response.status_code in (200, 404, 422), response.status_code
    assert "Traceback" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Payment).count() <= 1


@pytest.mark.parametrize("url", ["/pagos/nuevo?cliente=99999999999999999999",
                                 "/pagos/nuevo?factura=-1", "/pagos/99999999999999999999",
                                 "/pagos/99999999999999999999/xml"])
def test_out_of_range_ids_are_not_found(invoicing, url):
    assert invoicing.user.get(url).status_code == 404


def test_bank_accounts_and_operation_number_reach_the_rep(invoicing, app):
    invoice = invoicing.stamped()
    response = register(invoicing, [(invoice, "100.00")], operation_number="SPEI123",
                        cta_ordenante="0123 4567 8901 2345 67", cta_beneficiario="123456789012345678")
    assert response.status_code == 200
    pago = rep_of(invoicing, last_payment(app)).find(f".//{PAGOS}Pago")
    assert (pago.get("NumOperacion"), pago.get("CtaOrdenante"), pago.get("CtaBeneficiario")) == (
        "SPEI123", "012345678901234567", "123456789012345678")


def test_a_bank_account_the_forma_does_not_allow_is_refused_at_its_field(invoicing, app):
    invoice = invoicing.stamped()
    response = register(invoicing, [(invoice, "100.00")], forma_pago="01",
                        cta_ordenante="0123456789")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "no admite la cuenta del cliente" in re.search(
        r'id="field-cta_ordenante".*?</div>', html, re.S).group(0)
