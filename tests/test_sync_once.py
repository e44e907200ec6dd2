"""A catalog record is registered in Alegra once, however many stamps need it at once."""
import threading
import uuid

from conftest import sandbox_calls
from conftest import set_faults
from test_stamping_integrity import HttpUser
from test_stamping_integrity import served  # noqa: F401 - fixture

NEW_CUSTOMER = {"rfc": "EKU9003173C9", "name": "ESCUELA KEMPER URGATE", "regimen": "601",
                "uso_cfdi": "G03", "metodo_pago": "PUE", "forma_pago": "03",
                "credit_days": "0", "partner_type": "cliente", "cp": "42501"}
NEW_PRODUCT = {"name": "Producto nuevo en carrera", "clave_prod_serv": "80101500",
               "clave_unidad": "E48", "unit_price": "100", "objeto_imp": "02", "iva": "16"}


def test_parallel_stamps_of_a_new_product_create_one_item_and_one_contact(
        invoicing, served, sandbox):  # noqa: F811
    """4 users stamp 4 invoices of the same new customer and product at once (ATTACK F17)."""
    # The sandbox lives for the whole run: a reference of our own, so no earlier test's item
    # with the same "apunto-<id>" is linked instead of created.
    customer_id = invoicing.add_customer(NEW_CUSTOMER)
    product_id = invoicing.add_product({**NEW_PRODUCT, "sku": f"RACE-{uuid.uuid4().hex[:8]}"})
    store = invoicing.sandbox.app.extensions["sandbox"]["store"]
    rfc_before = sum(1 for c in store.all("contacts")
                     if c.get("identification") == NEW_CUSTOMER["rfc"])
    ids = [invoicing.draft(customer_id=customer_id, lines=[{"product_id": product_id}])
           for _ in range(4)]
    users = [HttpUser(served) for _ in ids]
    set_faults(sandbox, latency=0.2)
    before = sandbox_calls(sandbox)["calls"]
    barrier, statuses = threading.Barrier(len(ids)), []

    def press(user, invoice_id):
        data = {**invoicing.form(customer_id=customer_id, lines=[{"product_id": product_id}]),
                "version": str(invoicing.version(invoice_id))}
        barrier.wait()
        statuses.append(user.post(f"/facturas/{invoice_id}/timbrar", data).status_code)

    threads = [threading.Thread(target=press, args=pair) for pair in zip(users, ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls = sandbox_calls(sandbox)["calls"]
    created = {path: calls.get(path, 0) - before.get(path, 0)
               for path in ("POST /contacts", "POST /items", "POST /invoices")}
    # The RFC may already be in the run's sandbox (then it is linked, not created): either
    # way the account ends with exactly one contact for it.
    rfc_after = sum(1 for c in store.all("contacts")
                    if c.get("identification") == NEW_CUSTOMER["rfc"])
    assert (created["POST /contacts"], rfc_after) == (1 - rfc_before, 1)
    assert ({k: created[k] for k in ("POST /items", "POST /invoices")},
            [invoicing.invoice(i).status for i in ids]) == (
        {"POST /items": 1, "POST /invoices": 4}, ["stamped"] * 4)
