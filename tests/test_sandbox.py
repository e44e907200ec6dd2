"""The local Alegra sandbox is strict: auth, rate limit, pagination, persistence, faults."""
import datetime

import pytest
import requests

from apunto_fact.sandbox.server import SandboxServer
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import set_faults

AUTH = (SANDBOX_EMAIL, SANDBOX_TOKEN)


def get(sandbox, path, auth=AUTH, **params):
    return requests.get(sandbox.url + path, auth=auth, params=params, timeout=5)


def test_requires_basic_auth(sandbox):
    assert get(sandbox, "/company", auth=None).status_code == 401
    response = get(sandbox, "/company", auth=(SANDBOX_EMAIL, "otro"))
    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert get(sandbox, "/no-existe", auth=None).status_code == 401  # unknown paths too


def test_every_response_has_rate_limit_headers(sandbox):
    set_faults(sandbox, rate_limit=150)  # a fresh window, whatever earlier tests did
    response = get(sandbox, "/company")
    assert response.headers["X-Rate-Limit-Limit"] == "150"
    assert int(response.headers["X-Rate-Limit-Remaining"]) == 149
    assert 0 < int(response.headers["X-Rate-Limit-Reset"]) <= 60
    assert get(sandbox, "/no-existe").headers["X-Rate-Limit-Remaining"] == "148"


def test_rate_limit_answers_429_too_many_request(sandbox):
    set_faults(sandbox, rate_limit=3)
    codes = [get(sandbox, "/company").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = get(sandbox, "/company")
    assert response.json() == {"code": 429, "message": "Too Many request"}
    assert response.headers["X-Rate-Limit-Remaining"] == "0"


def test_ids_are_strings_and_money_fields_strings(sandbox):
    taxes = get(sandbox, "/taxes").json()
    assert all(isinstance(t["id"], str) for t in taxes)
    assert {t["percentage"] for t in taxes} >= {"16.00", "8.00", "0.00"}
    retentions = get(sandbox, "/retentions").json()
    assert [r["percentage"] for r in retentions].count("10.00") == 2  # duplicate ISR 10 %


def test_pagination_limit_and_metadata(sandbox):
    assert len(get(sandbox, "/taxes", start=2, limit=3).json()) == 3
    # Real clients send limit above 30 and are answered with at most 30 rows (evidence §5).
    set_faults(sandbox, rate_limit=150)
    assert len(get(sandbox, "/taxes", limit=50).json()) == 6
    assert get(sandbox, "/taxes", limit=0).status_code == 400
    assert get(sandbox, "/taxes", limit="x").status_code == 400
    body = get(sandbox, "/taxes", metadata="true", limit=2).json()
    assert body["metadata"]["total"] == 6 and len(body["data"]) == 2
    ordered = get(sandbox, "/taxes", order_field="percentage", order_direction="DESC").json()
    assert ordered[0]["percentage"] == "26.50"


def test_seeded_catalogs(sandbox):
    assert get(sandbox, "/company").json()["identification"] == "EKU9003173C9"
    assert {c["code"] for c in get(sandbox, "/currencies").json()} == {"MXN", "USD", "EUR"}
    templates = get(sandbox, "/number-templates").json()
    assert any(t["isElectronic"] and t["documentType"] == "invoice" for t in templates)
    assert get(sandbox, "/taxes/1").json()["name"] == "IVA"
    assert get(sandbox, "/taxes/999").status_code == 404


def test_state_persists_across_restarts(tmp_path):
    path = str(tmp_path / "state.sqlite")
    first = SandboxServer(path, email="a@b.mx", token="t").start()
    first.app.extensions["sandbox"]["store"].insert("taxes", {"name": "Extra", "percentage": "3"})
    first.stop()
    second = SandboxServer(path, email="a@b.mx", token="t").start()
    try:
        names = [t["name"] for t in requests.get(second.url + "/taxes", auth=("a@b.mx", "t"),
                                                 timeout=5).json()]
        assert names.count("Extra") == 1 and names.count("IVA") == 1  # not seeded twice
    finally:
        second.stop()


def test_faults_respond_once_then_clear(sandbox):
    set_faults(sandbox, rules=[{"path": "/company", "status": 500}])
    assert get(sandbox, "/company").status_code == 500
    assert get(sandbox, "/company").status_code == 200


def test_persistent_fault_until_cleared(sandbox):
    set_faults(sandbox, rules=[{"path": "/company", "status": 402, "times": None}])
    assert [get(sandbox, "/company").status_code for _ in range(3)] == [402, 402, 402]
    set_faults(sandbox, clear=True)
    assert get(sandbox, "/company").status_code == 200


def test_latency_fault(sandbox):
    set_faults(sandbox, latency=0.3)
    assert get(sandbox, "/company").elapsed.total_seconds() >= 0.3


def post(sandbox, path, body):
    return requests.post(sandbox.url + path, json=body, auth=AUTH, timeout=5)


@pytest.fixture
def contact_and_item(sandbox):
    """A contact (found or created) and an item in the shared sandbox."""
    contact = {"name": "YADIRA MORALES FLORES", "identification": "MOFY900516NL1",
               "regime": "BUSINESS_ACTIVITIES_REGIME", "cfdiUse": "G03",
               "address": {"zipCode": "06600"}, "type": ["client"]}
    response = post(sandbox, "/contacts", contact)
    contact_id = response.json().get("id") or response.json()["contactId"]
    item = post(sandbox, "/items", {"name": "Asesoría", "price": 1500, "tax": [{"id": "1"}],
                                    "productKey": "80101500", "inventory": {"unit": "E48"}})
    return contact_id, item.json()["id"]


def invoice_body(contact_id, item_id, **changes):
    return {"date": datetime.date.today().isoformat(),
            "dueDate": datetime.date.today().isoformat(), "client": {"id": contact_id},
            "paymentType": "PUE", "paymentMethod": "transfer", "cfdiUse": "G03",
            "items": [{"id": item_id, "price": "1500.50", "quantity": 2, "tax": [{"id": "1"}]}],
            **changes}


def test_invoice_amounts_come_back_as_strings(sandbox, contact_and_item):
    body = post(sandbox, "/invoices", invoice_body(*contact_and_item)).json()
    assert (body["subtotal"], body["tax"], body["total"]) == ("3001.00", "480.16", "3481.16")
    assert body["emissionStatus"] == "PENDING" and "uuid" not in body


def test_batch_stamp_stamps_pending_invoices_one_result_each(sandbox, contact_and_item):
    ids = [post(sandbox, "/invoices", invoice_body(*contact_and_item)).json()["id"]
           for _ in range(2)]
    results = post(sandbox, "/invoices/stamp", {"ids": ids + ["99999"]}).json()["results"]
    assert [r["success"] for r in results] == [True, True, False]
    assert all(len(r["uuid"]) == 36 for r in results[:2])
    assert post(sandbox, "/invoices/stamp", {"ids": [str(i) for i in range(11)]}).status_code == 400
    again = post(sandbox, "/invoices/stamp", {"ids": ids[:1]}).json()["results"]
    assert again[0]["success"] is False  # never stamped twice


@pytest.mark.parametrize("changes, code", [
    ({"paymentType": "PPD", "paymentMethod": "transfer"}, "CFDI40105"),
    ({"cfdiUse": "CN01"}, "CFDI40161"),
])
def test_sat_style_rejections_use_shape_two(sandbox, contact_and_item, changes, code):
    response = post(sandbox, "/invoices", invoice_body(*contact_and_item,
                                                       stamp={"generateStamp": True}, **changes))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 3051 and code in error["message"]


@pytest.mark.parametrize("body, text", [
    ({"name": "X", "identification": "NO-ES-RFC", "regime": "SALARIED_REGIME",
      "address": {"zipCode": "06600"}}, "no es un RFC válido"),
    ({"name": "X", "identification": "MOFY900516NL1", "regime": "RESICO",
      "address": {"zipCode": "06600"}}, "régimen fiscal válido"),
    ({"name": "X", "identification": "MOFY900516NL1", "regime": "SALARIED_REGIME",
      "address": {"zipCode": "660"}}, "5 dígitos"),
    ({"name": "X", "nameObject": {}, "identification": "MOFY900516NL1"}, "name y nameObject"),
])
def test_contacts_are_validated(sandbox, body, text):
    response = post(sandbox, "/contacts", body)
    assert response.status_code == 400 and text in response.json()["message"]


def test_items_need_sat_keys(sandbox):
    response = post(sandbox, "/items", {"name": "X", "price": 1, "productKey": "99999999",
                                        "inventory": {"unit": "E48"}})
    assert response.status_code == 400 and "catálogo del SAT" in response.json()["message"]


def test_foreign_currency_needs_a_rate(sandbox, contact_and_item):
    response = post(sandbox, "/invoices", invoice_body(*contact_and_item,
                                                       currency={"code": "USD"}))
    assert response.status_code == 400 and "tipo de cambio" in response.json()["message"]
