"""The app against every reading of the Alegra contract the evidence leaves open.

Each test gets its own sandbox (a fresh account), so records of the user's own that are
pre-seeded here are the only ones in it. alegra-evidence.md §2–§3.
"""
import itertools

import pytest
import requests

import conftest
from apunto_fact.alegra import mapping
from conftest import SANDBOX_CONTROL
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import sandbox_calls
from conftest import set_faults

HX = {"HX-Request": "true"}


@pytest.fixture
def own_sandbox(tmp_path):
    """A sandbox with a fresh account for this test only."""
    with conftest.private_sandbox(tmp_path) as server:
        yield server


@pytest.fixture
def sandbox(own_sandbox):
    """Every fixture of conftest that talks to "the sandbox" talks to this one."""
    return own_sandbox


@pytest.fixture
def app_config(app_config, own_sandbox):
    """Point the app at this test's sandbox."""
    return {**app_config, "ALEGRA_SANDBOX_URL": own_sandbox.url}


def store(sandbox):
    return sandbox.app.extensions["sandbox"]["store"]


def seed_users_own_records(sandbox):
    """Records the user already had in Alegra, sharing prefixes with the app's."""
    add = lambda kind, body: requests.post(  # noqa: E731
        f"{sandbox.root}/_sandbox/records/{kind}", json=body, headers=SANDBOX_CONTROL,
        timeout=5).json()["id"]
    own = {
        "contacts": [add("contacts", {"name": "XOCHILT CASAS CHAVEZ SUCURSAL",
                                      "identification": "CACX7605101P", "regime": "NO_REGIME",
                                      "address": {"zipCode": "10740"}, "type": ["client"]}),
                     add("contacts", {"name": "CASAS CHAVEZ HERMANOS",
                                      "identification": "CACX7605101P8X",
                                      "address": {"zipCode": "10740"}, "type": ["client"]})],
        "items": [add("items", {"name": "Consultoría del usuario", "reference": "apunto-1-old",
                                "price": [{"price": "5"}], "productKey": "80101500",
                                "inventory": {"unit": "E48"}}),
                  add("items", {"name": "Otro", "reference": "apunto-10",
                                "price": [{"price": "7"}], "productKey": "80101500",
                                "inventory": {"unit": "E48"}})],
    }
    return own


def writes_to(sandbox, kind, ids):
    """PUT/DELETE/POST calls the sandbox received on these record ids."""
    calls = sandbox_calls(sandbox)["calls"]
    return {k: v for k, v in calls.items() for i in ids
            if k.split()[0] != "GET" and k.split()[1].startswith(f"/{kind}/{i}")}


def test_partial_filters_never_touch_the_users_own_records(invoicing, sandbox):
    set_faults(sandbox, filters="partial")
    own = seed_users_own_records(sandbox)
    before = {kind: [store(sandbox).get(kind, i) for i in ids] for kind, ids in own.items()}
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    assert invoicing.invoice(invoice_id).status == "stamped"
    assert writes_to(sandbox, "contacts", own["contacts"]) == {}
    assert writes_to(sandbox, "items", own["items"]) == {}
    after = {kind: [store(sandbox).get(kind, i) for i in ids] for kind, ids in own.items()}
    assert after == before
    invoice = invoicing.invoice(invoice_id)
    assert invoice.customer.alegra_id not in own["contacts"]
    assert invoice.customer.alegra_origin == "created"


@pytest.mark.parametrize("filters", ["exact", "partial", "ignored"])
def test_an_exact_match_is_linked_and_recorded(invoicing, sandbox, app, filters):
    set_faults(sandbox, filters=filters)
    seed_users_own_records(sandbox)
    theirs = requests.post(f"{sandbox.root}/_sandbox/records/contacts", json={
        "name": "XOCHILT CASAS CHAVEZ", "identification": "CACX7605101P8",
        "regime": "BUSINESS_ACTIVITIES_REGIME", "address": {"zipCode": "10740"}},
        headers=SANDBOX_CONTROL, timeout=5).json()["id"]
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "stamped"
    assert (invoice.customer.alegra_id, invoice.customer.alegra_origin) == (theirs, "linked")
    from apunto_fact.extensions import db
    from apunto_fact.products.models import Product
    with app.app_context():
        product = db.session.get(Product, invoicing.product_ids[0])
        assert product.alegra_origin == "created"
        assert store(sandbox).get("items", product.alegra_id)["reference"] == \
            f"apunto-{product.id}"


def test_a_legacy_id_pointing_at_someone_else_is_dropped_not_updated(invoicing, sandbox, app):
    own = seed_users_own_records(sandbox)
    from apunto_fact.customers.models import Customer
    from apunto_fact.extensions import db
    with app.app_context():  # an id stored before origins were kept, by a partial filter
        customer = db.session.get(Customer, invoicing.customer_id)
        customer.alegra_id, customer.alegra_origin = own["contacts"][0], None
        db.session.commit()
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    assert invoicing.invoice(invoice_id).status == "stamped"
    assert writes_to(sandbox, "contacts", own["contacts"]) == {}
    assert invoicing.invoice(invoice_id).customer.alegra_id != own["contacts"][0]


# Every reading that changes what the app reads back, crossed; the filter reading cycles.
FLOW = [dict(zip(("number_template", "cancel_in_process", "list_observations"), combo))
        for combo in itertools.product(("object", "array"), ("waiting", "accepted"),
                                       (True, False))]
for n, reading in enumerate(FLOW):
    reading["filters"] = ("exact", "partial", "ignored")[n % 3]


@pytest.mark.parametrize("reading", FLOW, ids=lambda r: "-".join(str(v) for v in r.values()))
def test_stamp_download_cancel_reconcile_under_each_reading(invoicing, sandbox, reading):
    set_faults(sandbox, cancel_delay=0, **reading)
    own = seed_users_own_records(sandbox)
    # 1. A plain stamp, then the files.
    first = invoicing.draft()
    invoicing.stamp(first)
    invoice = invoicing.invoice(first)
    assert invoice.status == "stamped" and invoice.folio == "1" and invoice.serie == "A"
    xml = invoicing.user.get(f"/facturas/{first}/xml")
    assert xml.status_code == 200 and invoice.uuid.encode() in xml.data
    assert invoicing.user.get(f"/facturas/{first}/pdf").data.startswith(b"%PDF")
    # 2. The answer is lost: resolved by reading (list rows with or without observations).
    second = invoicing.draft()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices",
                                "action": "commit_then_drop"}])
    invoicing.stamp(second)
    invoicing.user.post(f"/facturas/{second}/verificar", htmx=True)
    resolved = invoicing.invoice(second)
    assert resolved.status == "stamped" and resolved.folio == "2"
    assert len(invoicing.sandbox_invoices()) == 2
    # 3. Cancel: in process is never shown as refused, then it settles as cancelled.
    set_faults(sandbox, cancel_delay=30)
    html = invoicing.user.post(f"/facturas/{first}/cancelar", {"motive": "02"},
                               htmx=True).get_data(as_text=True)
    assert "En proceso de cancelación" in html
    polled = invoicing.user.get(f"/facturas/{first}/estado", headers=HX).get_data(as_text=True)
    assert invoicing.invoice(first).status == "cancel_pending"
    assert "no procedió" not in polled and "rechaz" not in polled.lower()
    set_faults(sandbox, cancel_delay=0)
    invoicing.user.get(f"/facturas/{first}/estado", headers=HX)
    assert invoicing.invoice(first).status == "cancelled"
    assert writes_to(sandbox, "contacts", own["contacts"]) == {}
    assert writes_to(sandbox, "items", own["items"]) == {}


@pytest.mark.parametrize("leaves", [False, True])
def test_a_rejected_stamp_never_leaves_two_open_documents(invoicing, sandbox, app, leaves):
    set_faults(sandbox, rejected_leaves_invoice=leaves)
    wrong = dict(conftest.CUSTOMER, rfc="MOFY900516NL1", name="YADIRA MORALES",
                 cp="06600", regimen="612")
    customer_id = invoicing.add_customer(wrong)
    invoice_id = invoicing.draft(customer_id=customer_id)
    html = invoicing.stamp(invoice_id, customer_id=customer_id).get_data(as_text=True)
    assert invoicing.invoice(invoice_id).status == "rejected" and "CFDI40145" in html
    left = [r for r in invoicing.sandbox_invoices() if r["status"] != "void"]
    assert left == []  # the leftover (if any) was the app's own and is voided
    invoicing.user.post(f"/clientes/{customer_id}", {**wrong, "name": "YADIRA MORALES FLORES"},
                        htmx=True)
    invoicing.stamp(invoice_id, customer_id=customer_id)
    assert invoicing.invoice(invoice_id).status == "stamped"
    open_docs = [r for r in invoicing.sandbox_invoices() if r["status"] != "void"]
    assert len(open_docs) == 1
    assert len(invoicing.sandbox_invoices()) == (2 if leaves else 1)


def test_numbertemplate_as_array_is_read_after_a_stamp():
    body = {"id": 7, "numberTemplate": [{"prefix": "FA", "number": "12"}],
            "stamp": [{"uuid": "abc", "stampDate": "2026-11-28 10:00:00"}],
            "emissionStatus": "STAMPED_AND_ACCEPTED", "status": "open"}
    info = mapping.invoice_from_alegra(body)
    assert (info.serie, info.folio, info.uuid, info.state) == ("FA", "12", "ABC", "stamped")


@pytest.mark.parametrize("emission, status, state", [
    ("CANCELLED_AND_WAITING_RESPONSE", "void", "cancel_in_process"),
    ("STAMPED_AND_ACCEPTED", "void", "cancel_in_process"),
    ("STAMPED_AND_ACCEPTED", "open", "stamped"),
    ("STAMPED_AND_CANCELLED", "void", "cancelled"),
    ("STAMPED_AND_REJECTED", "open", "rejected"),
    ("PENDING", "draft", "pending"),
    ("SOMETHING_NEW", "open", "unknown"),
    (None, None, "unknown"),
])
def test_emission_states(emission, status, state):
    assert mapping.emission_state(emission, status) == state


def test_odd_bodies_never_crash_the_mapping():
    for body in ({}, [], None, {"numberTemplate": []}, {"numberTemplate": "A"},
                 {"stamp": None, "observations": "apunto:"}):
        info = mapping.invoice_from_alegra(body)
        assert info.state == "unknown" and info.marker is None


def test_a_regimen_alegra_does_not_list_is_refused_before_stamping(invoicing, sandbox):
    customer_id = invoicing.add_customer(dict(conftest.CUSTOMER, rfc="MOFY900516NL1",
                                              name="YADIRA MORALES FLORES", cp="06600",
                                              regimen="607", uso_cfdi="S01"))
    invoice_id = invoicing.draft(customer_id=customer_id, uso_cfdi="S01")
    response = invoicing.stamp(invoice_id, customer_id=customer_id, uso_cfdi="S01")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("Alegra no tiene el régimen fiscal 607 Régimen de Enajenación o Adquisición "
            "de Bienes en su catálogo") in html
    assert invoicing.invoice(invoice_id).status == "draft"
    assert not [k for k in sandbox_calls(sandbox)["calls"] if k.startswith("POST")]


def test_forma_de_pago_30_has_no_alegra_slug_and_is_refused(invoicing, sandbox):
    invoice_id = invoicing.draft(forma_pago="30")
    response = invoicing.stamp(invoice_id, forma_pago="30")
    assert response.status_code == 422
    assert "Alegra no ofrece la forma de pago 30" in response.get_data(as_text=True)
    assert not [k for k in sandbox_calls(sandbox)["calls"] if k.startswith("POST")]


def test_credit_days_travel_as_the_id_of_alegras_term(invoicing, sandbox):
    customer_id = invoicing.add_customer(dict(conftest.CUSTOMER, rfc="IIA040805DZ4",
                                              name="INDISTRIA ILUMINADORA DE ALMACENES",
                                              regimen="601", cp="62661", credit_days="30",
                                              metodo_pago="PPD", forma_pago="99"))
    invoice_id = invoicing.draft(customer_id=customer_id, metodo_pago="PPD", forma_pago="99")
    invoicing.stamp(invoice_id, customer_id=customer_id, metodo_pago="PPD", forma_pago="99")
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "stamped"
    contact = store(sandbox).get("contacts", invoice.customer.alegra_id)
    term = store(sandbox).get("terms", contact["term"])
    assert term["days"] == 30


def api_post(sandbox, path, body):
    return requests.post(f"{sandbox.url}{path}", json=body, auth=(SANDBOX_EMAIL, SANDBOX_TOKEN),
                         timeout=5)


def test_sandbox_is_liberal_where_real_clients_are_answered(sandbox):
    contact = api_post(sandbox, "/contacts/", {"name": "Sin régimen", "identification":
                                               "MOFY900516NL1", "address": {"zipCode": "06600"}})
    assert contact.status_code == 201  # trailing slash, no regime (evidence §5)
    item = api_post(sandbox, "/items/", {"name": "X", "price": 10, "productKey": "80101500",
                                         "unit": "E48"}).json()
    invoice = api_post(sandbox, "/invoices", {
        "date": "2026-11-28T10:30:00-06:00", "dueDate": "2026-11-28", "paymentType": "PUE",
        "paymentMethod": "nominative", "client": {"id": contact.json()["id"]},
        "items": [{"id": item["id"], "quantity": 1}]})
    assert invoice.status_code == 201 and invoice.json()["date"] == "2026-11-28"


@pytest.mark.parametrize("regime, status", [("NO_REGIME", 201), ("SIMPLIFIED_REGIME", 201),
                                            ("OTHER_INCOME_REGIME", 400), ("RESICO", 400)])
def test_sandbox_takes_exactly_the_mx_cat_regimes(sandbox, regime, status):
    response = api_post(sandbox, "/contacts", {"name": "X", "identification": "MOFY900516NL1",
                                               "regime": regime,
                                               "address": {"zipCode": "06600"}})
    assert response.status_code == status


def test_a_contact_without_regime_cannot_be_stamped_in_the_sandbox(sandbox):
    contact = api_post(sandbox, "/contacts", {"name": "X", "identification": "MOFY900516NL1",
                                              "address": {"zipCode": "06600"}}).json()
    item = api_post(sandbox, "/items", {"name": "X", "price": 10, "productKey": "80101500",
                                        "inventory": {"unit": "E48"}}).json()
    response = api_post(sandbox, "/invoices", {
        "date": "2026-11-28", "dueDate": "2026-11-28", "paymentType": "PUE",
        "paymentMethod": "cash", "cfdiUse": "S01", "client": {"id": contact["id"]},
        "items": [{"id": item["id"]}], "stamp": {"generateStamp": True}})
    assert response.status_code == 400 and response.json()["error"]["code"] == 3051


def test_a_plain_stamped_read_right_after_our_void_is_not_a_refusal(invoicing, sandbox, app):
    from apunto_fact.documents import transition
    from apunto_fact.extensions import db
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.timeutil import utcnow
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    with app.app_context():  # our void is still on its way: Alegra reads ACCEPTED/open
        invoice = db.session.get(Invoice, invoice_id)
        transition(invoice, "cancel_pending", only_from=("stamped",), cancel_motive="02",
                   cancel_requested_at=utcnow())
    html = invoicing.user.get(f"/facturas/{invoice_id}/estado", headers=HX).get_data(
        as_text=True)
    assert invoicing.invoice(invoice_id).status == "cancel_pending"
    assert "no procedió" not in html


@pytest.mark.parametrize("body", [
    {"id": "900001", "emissionStatus": "PENDING", "status": "open", "total": "1160.00",
     "numberTemplate": {"prefix": "A", "number": "999"}},
    {"id": "900002"}, [], "<html>OK</html>"])
def test_a_2xx_without_a_stamped_cfdi_is_never_recorded_as_stamped(invoicing, sandbox, body):
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "status": 201,
                                "body": body}])
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "unknown" and invoice.uuid is None
