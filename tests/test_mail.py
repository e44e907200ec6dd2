"""«Enviar por correo»: through Alegra's e-mail endpoint (the sandbox), once per press."""
import re
import threading

import pytest

from apunto_fact.audit.models import AlegraCall
from apunto_fact.extensions import db
from apunto_fact.invoices.models import Invoice
from apunto_fact.mail import service
from apunto_fact.mail.models import EmailSend
from conftest import sandbox_calls
from conftest import sandbox_control
from conftest import set_faults


def sent(sandbox):
    return sandbox_control(sandbox, "emails", method="GET").json()


@pytest.fixture
def stamped(invoicing):
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    assert invoicing.invoice(invoice_id).status == "stamped"
    return invoice_id


def _token(html):
    return re.search(r'name="send_token" value="([^"]+)"', html).group(1)


def _press(invoicing, invoice_id, recipients, token=None):
    if token is None:
        token = _token(invoicing.user.get(f"/facturas/{invoice_id}").get_data(as_text=True))
    return invoicing.user.post(f"/correo/invoice/{invoice_id}",
                               {"recipients": recipients, "send_token": token}, htmx=True)


def test_send_goes_to_every_address_and_is_recorded(invoicing, sandbox, stamped, app):
    before = len(sent(sandbox))
    page = invoicing.user.get(f"/facturas/{stamped}").get_data(as_text=True)
    assert "Enviar por correo" in page
    response = _press(invoicing, stamped, "pagos@cliente.mx; Conta@Cliente.mx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Enviado a pagos@cliente.mx, Conta@cliente.mx" in html
    emails = sent(sandbox)[before:]
    uuid = invoicing.invoice(stamped).uuid
    assert [(e["emails"], e["uuid"]) for e in emails] == [
        (["pagos@cliente.mx", "Conta@cliente.mx"], uuid)]
    with app.app_context():
        [row] = db.session.query(EmailSend).all()
        assert (row.state, row.requested_by, row.recipients) == (
            "sent", "duena", "pagos@cliente.mx,Conta@cliente.mx")
        call = db.session.query(AlegraCall).filter(AlegraCall.path.like("%/email")).one()
        assert call.invoice_id == stamped and call.status == 200
        assert call.message == ("Correo a pagos@cliente.mx, Conta@cliente.mx — solicitado por "
                                "duena")


def test_double_click_sends_once(invoicing, sandbox, stamped):
    before = len(sent(sandbox))
    token = _token(invoicing.user.get(f"/facturas/{stamped}").get_data(as_text=True))
    first = _press(invoicing, stamped, "pagos@cliente.mx", token)
    second = _press(invoicing, stamped, "pagos@cliente.mx", token)
    assert first.status_code == 200 and second.status_code == 409
    assert "doble clic" in second.get_data(as_text=True)
    assert len(sent(sandbox)) == before + 1


def test_two_presses_at_the_same_time_send_once(invoicing, sandbox, stamped, app):
    before = len(sent(sandbox))
    set_faults(sandbox, latency=0.4)
    outcomes, barrier = [], threading.Barrier(2)

    def press():
        with app.test_request_context():
            invoice = db.session.get(Invoice, stamped)
            barrier.wait()
            outcomes.append(service.send("invoice", invoice, ["a@cliente.mx"], "same-token"))
            db.session.remove()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent(sandbox)) == before + 1
    assert sum(1 for o in outcomes if o.duplicate) == 1
    assert sandbox_calls(sandbox)["calls"].get(
        f"POST /invoices/{invoicing.invoice(stamped).alegra_id}/email") == 1


@pytest.mark.parametrize("typed, message", [
    ("pagos@cliente", "«pagos@cliente» no es un correo válido"),
    ("", "Escribe por lo menos un correo"),
    ("a@b.mx, <script>@x.mx", "no es un correo válido"),
])
def test_bad_addresses_are_refused_at_the_field(invoicing, sandbox, stamped, typed, message):
    before = len(sent(sandbox))
    response = _press(invoicing, stamped, typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert 'id="recipients-error"' in html and "<script>@" not in html
    assert len(sent(sandbox)) == before


def test_alegra_refusing_shows_its_message_and_a_new_press_can_retry(invoicing, sandbox,
                                                                     stamped, app):
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices/", "status": 400,
                                "body": {"code": 400, "message": "Servicio de correo caído"}}])
    response = _press(invoicing, stamped, "pagos@cliente.mx")
    assert "Alegra no envió el correo: Servicio de correo caído" in response.get_data(
        as_text=True)
    retry = _press(invoicing, stamped, "pagos@cliente.mx")
    assert retry.status_code == 200 and "Enviado a" in retry.get_data(as_text=True)
    with app.app_context():
        assert [r.state for r in db.session.query(EmailSend).order_by(EmailSend.id)] == [
            "failed", "sent"]


def test_lost_answer_is_unconfirmed_and_never_retried(invoicing, sandbox, stamped, app):
    before = len(sent(sandbox))
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices/",
                                "action": "commit_then_drop"}])
    response = _press(invoicing, stamped, "pagos@cliente.mx")
    assert "confirma con tu cliente" in response.get_data(as_text=True)
    assert len(sent(sandbox)) == before + 1  # it did go out, once
    with app.app_context():
        assert db.session.query(EmailSend).one().state == "unknown"


def test_a_draft_cannot_be_sent(invoicing, sandbox):
    invoice_id = invoicing.draft()
    response = invoicing.user.post(f"/correo/invoice/{invoice_id}",
                                   {"recipients": "a@b.mx", "send_token": "t1"}, htmx=True)
    assert "Solo se envían por correo documentos timbrados" in response.get_data(as_text=True)
    assert not [c for c in sandbox_calls(sandbox)["calls"] if c.endswith("/email")]


def test_auto_send_setting_round_trip(invoicing):
    assert 'id="auto_send"' in invoicing.user.get("/correo/configuracion").get_data(as_text=True)
    invoicing.user.post("/correo/configuracion", {"auto_send": "1"})
    assert "checked" in invoicing.user.get("/correo/configuracion").get_data(as_text=True)


def test_auto_send_after_stamping_goes_once_to_the_customer(invoicing, sandbox, app):
    from apunto_fact.customers.models import Customer
    with app.app_context():
        db.session.get(Customer, invoicing.customer_id).email = "facturas@cliente.mx"
        db.session.commit()
    invoicing.user.post("/correo/configuracion", {"auto_send": "1"})
    before = len(sent(sandbox))
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    invoice = invoicing.invoice(invoice_id)
    assert [(e["emails"], e["uuid"]) for e in sent(sandbox)[before:]] == [
        (["facturas@cliente.mx"], invoice.uuid)]
    with app.app_context():
        row = db.session.query(EmailSend).one()
        assert (row.requested_by, row.token, row.state) == (
            "automático", f"auto:invoice:{invoice_id}", "sent")
        # A later automatic send of the same document is refused by its fixed token.
        again = service.send_after_stamping("invoice", db.session.get(Invoice, invoice_id))
        assert again.duplicate is True
    assert len(sent(sandbox)) == before + 1


def test_no_auto_send_when_the_setting_is_off(invoicing, sandbox, app):
    from apunto_fact.customers.models import Customer
    with app.app_context():
        db.session.get(Customer, invoicing.customer_id).email = "facturas@cliente.mx"
        db.session.commit()
    before = len(sent(sandbox))
    invoicing.stamp(invoicing.draft())
    assert len(sent(sandbox)) == before
