"""The sandbox's payments (REP), bank accounts and balances, over real HTTP."""
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
import requests

from cfdi_check import xsd_errors
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import sandbox_control

PAGOS = "{http://www.sat.gob.mx/Pagos20}"
AUTH = (SANDBOX_EMAIL, SANDBOX_TOKEN)


def api(sandbox, method, path, **kwargs):
    return requests.request(method, f"{sandbox.url}{path}", auth=AUTH, timeout=10, **kwargs)


def stamped_invoice(invoicing, metodo="PPD", quantity="1"):
    invoice = invoicing.stamped(metodo, quantity)
    return api(invoicing.sandbox, "GET", f"/invoices/{invoice.alegra_id}").json()


def pay(sandbox, invoices, amount=None, method="transfer", stamp=True, date=None, **extra):
    applications = [{"id": inv["id"], "amount": str(a)} for inv, a in invoices]
    total = amount if amount is not None else sum(Decimal(str(a)) for _, a in invoices)
    body = {"date": date or invoices[0][0]["date"], "type": "in",
            "client": {"id": invoices[0][0]["client"]["id"]}, "amount": str(total),
            "bankAccount": {"id": "1"}, "paymentMethod": method, "invoices": applications,
            "observations": "apunto:test", **extra}
    if stamp:
        body["stamp"] = {"generateStamp": True}
    return api(sandbox, "POST", "/payments?fields=xml,pdf", json=body)


def rep(sandbox, payment):
    xml = requests.get(payment["xml"], timeout=10).content
    assert xsd_errors(xml) == []
    return ET.fromstring(xml)


def test_two_partial_payments_give_two_valid_reps_ending_at_zero(invoicing, sandbox):
    invoice = stamped_invoice(invoicing)
    assert (invoice["total"], invoice["balance"], invoice["totalPaid"]) == (
        "1160.00", "1160.00", "0.00")
    first = pay(sandbox, [(invoice, "600.00")])
    assert first.status_code == 201, first.text
    second = pay(sandbox, [(invoice, "560.00")])
    assert second.status_code == 201, second.text
    docs = [rep(sandbox, r.json()).find(f".//{PAGOS}DoctoRelacionado") for r in (first, second)]
    assert [(d.get("NumParcialidad"), d.get("ImpSaldoAnt"), d.get("ImpPagado"),
             d.get("ImpSaldoInsoluto")) for d in docs] == [
        ("1", "1160.00", "600.00", "560.00"), ("2", "560.00", "560.00", "0.00")]
    # pagos20.md §3.1, to the cent.
    assert [(t.get("BaseDR"), t.get("ImporteDR"))
            for d in docs for t in d.iter(f"{PAGOS}TrasladoDR")] == [
        ("517.24", "82.76"), ("482.76", "77.24")]
    totales = rep(sandbox, second.json()).find(f".//{PAGOS}Totales")
    assert totales.attrib == {"TotalTrasladosBaseIVA16": "482.76",
                              "TotalTrasladosImpuestoIVA16": "77.24",
                              "MontoTotalPagos": "560.00"}
    after = api(sandbox, "GET", f"/invoices/{invoice['id']}").json()
    assert (after["balance"], after["totalPaid"]) == ("0.00", "1160.00")


def test_one_payment_over_three_invoices_is_one_rep_with_three_documents(invoicing, sandbox):
    invoices = [stamped_invoice(invoicing, quantity=q) for q in ("1", "2", "3")]
    response = pay(sandbox, [(inv, inv["total"]) for inv in invoices])
    assert response.status_code == 201, response.text
    root = rep(sandbox, response.json())
    docs = root.findall(f".//{PAGOS}DoctoRelacionado")
    assert [d.get("IdDocumento") for d in docs] == [inv["uuid"] for inv in invoices]
    assert {d.get("ImpSaldoInsoluto") for d in docs} == {"0.00"}
    assert root.find(f".//{PAGOS}Pago").get("Monto") == "6960.00"
    assert root.find(f".//{PAGOS}TrasladoP").attrib == {
        "BaseP": "6000.00", "ImpuestoP": "002", "TipoFactorP": "Tasa",
        "TasaOCuotaP": "0.160000", "ImporteP": "960.00"}


def test_stamp_refusals_follow_the_sat(invoicing, sandbox):
    ppd, pue = stamped_invoice(invoicing), stamped_invoice(invoicing, metodo="PUE")
    forma_99 = pay(sandbox, [(ppd, "100.00")], method="other")
    assert forma_99.status_code == 400 and "CRP20212" in forma_99.json()["error"]["message"]
    no_rep = pay(sandbox, [(pue, "100.00")])
    assert no_rep.status_code == 400 and "PUE" in no_rep.json()["error"]["message"]
    over = pay(sandbox, [(ppd, "1160.01")])
    assert over.status_code == 400 and "saldo pendiente" in over.json()["message"]
    future = pay(sandbox, [(ppd, "100.00")], date="2999-01-01")
    assert future.status_code == 400 and "FechaPago" in future.json()["error"]["message"]
    # None of the refused stamps left a payment behind or moved the balance.
    assert api(sandbox, "GET", f"/invoices/{ppd['id']}").json()["balance"] == "1160.00"


def test_invoice_with_a_rep_in_force_is_not_cancelable(invoicing, sandbox):
    invoice = stamped_invoice(invoicing)
    payment = pay(sandbox, [(invoice, "100.00")]).json()
    refused = api(sandbox, "POST", f"/invoices/{invoice['id']}/void", json={"motive": "02"})
    assert refused.status_code == 400 and "complementos de pago" in refused.json()["message"]
    voided = api(sandbox, "POST", f"/payments/{payment['id']}/void", json={"motive": "02"})
    assert voided.json()["emissionStatus"] == "STAMPED_AND_CANCELLED"  # cancel_delay 0
    assert api(sandbox, "GET", f"/invoices/{invoice['id']}").json()["balance"] == "1160.00"
    again = api(sandbox, "POST", f"/invoices/{invoice['id']}/void", json={"motive": "02"})
    assert again.status_code == 200


@pytest.fixture
def stamp_only_by_route(sandbox):
    sandbox_control(sandbox, "payments", {"stamp_on_post": False})
    yield
    sandbox_control(sandbox, "payments", {"stamp_on_post": True})


def test_reading_where_post_does_not_stamp(invoicing, sandbox, stamp_only_by_route):
    invoice = stamped_invoice(invoicing)
    created = pay(sandbox, [(invoice, "1160.00")]).json()
    assert created["emissionStatus"] == "PENDING" and "uuid" not in created
    stamped = api(sandbox, "POST", f"/payments/{created['id']}/stamp?fields=xml")
    assert stamped.status_code == 200 and stamped.json()["uuid"]
    assert rep(sandbox, stamped.json()).find(f".//{PAGOS}DoctoRelacionado").get(
        "ImpSaldoInsoluto") == "0.00"


def test_bank_accounts_list_and_create(sandbox):
    names = [r["name"] for r in api(sandbox, "GET", "/bank-accounts").json()]
    assert "Banco principal" in names
    created = api(sandbox, "POST", "/bank-accounts", json={"name": "BBVA 1234"})
    assert created.status_code == 201
    assert "BBVA 1234" in [r["name"] for r in api(sandbox, "GET", "/bank-accounts").json()]
