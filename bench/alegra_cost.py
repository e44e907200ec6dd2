"""Alegra requests per stamped invoice, and bulk stamping under the 150/min limit."""
import datetime
import tempfile
import time


from apunto_fact.extensions import db
from apunto_fact.invoices import service as invoices
from apunto_fact.invoices import stamping
from apunto_fact.invoices.forms import InvoiceForm
from apunto_fact.invoices.models import Invoice

from .harness import SANDBOX_EMAIL as EMAIL  # noqa: F401 - budget_spent signs in as this user
from .harness import sandbox_connected
from .http import Server

LIMIT = 150


def _setup(folder, rate_limit=LIMIT):
    from conftest import COMPANY
    from conftest import CUSTOMER
    from conftest import PRODUCT
    sandbox, app, user = sandbox_connected(folder, rate_limit=rate_limit)
    user.post("/configuracion/integraciones/alegra/estado", htmx=True)
    user.post("/configuracion/facturacion", COMPANY, htmx=True)
    user.post("/clientes/nuevo", CUSTOMER, htmx=True)
    for i, key in enumerate(("80101500", "81111811", "43231500")):
        user.post("/productos/nuevo", {**PRODUCT, "name": f"Producto {i}",
                                       "clave_prod_serv": key}, htmx=True)
    return sandbox, app


def _draft(app, product_ids):
    data = {"customer_id": "1", "date": datetime.date.today().isoformat(), "currency": "MXN",
            "uso_cfdi": "G03", "metodo_pago": "PUE", "forma_pago": "03"}
    for i, product_id in enumerate(product_ids):
        data.update({f"lines-{i}-product_id": str(product_id), f"lines-{i}-quantity": "1",
                     f"lines-{i}-unit_price": "1000", f"lines-{i}-discount_pct": "0",
                     f"lines-{i}-description": f"Concepto {i}"})
    with app.test_request_context(method="POST", data=data):
        form = InvoiceForm(meta={"csrf": False})
        customer = invoices.customer_of(form)
        form.validate()
        form.check(customer)
        invoice = Invoice()
        invoices.save(invoice, form.draft)
        return invoice.id


def _stats(sandbox):
    from conftest import sandbox_control
    return sandbox_control(sandbox, "stats", method="GET").json()


def _reset(sandbox):
    from conftest import sandbox_control
    sandbox_control(sandbox, "stats/reset")


def _stamp(app, invoice_id):
    # As a background worker stamps: outside a web request, so the shared budget may wait.
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        stamping.stamp(invoice, invoice.version)
        assert invoice.status == "stamped", (invoice.status, invoice.problem_message)


def requests_per_invoice():
    """Return result rows: first invoice (new customer, 3 new products), then steady state."""
    with tempfile.TemporaryDirectory() as folder:
        sandbox, app = _setup(folder)
        try:
            first, second = _draft(app, [1, 2, 3]), _draft(app, [1, 2, 3])
            _reset(sandbox)
            _stamp(app, first)
            cold = _stats(sandbox)
            _reset(sandbox)
            _stamp(app, second)
            steady = _stats(sandbox)
        finally:
            sandbox.stop()
    detail = ", ".join(f"{k}×{v}" for k, v in sorted(cold["calls"].items()))
    return [{"what": "Solicitudes a Alegra: cliente nuevo con 3 productos nuevos",
             "value": f"{cold['total']} ({detail})", "target": "—", "ok": None},
            {"what": "Solicitudes a Alegra: mismo cliente y productos (estado estable)",
             "value": str(steady["total"]), "target": "1", "ok": steady["total"] == 1}]


def bulk(count=300):
    """«Timbrar todas las listas para timbrar» with count drafts, through the real server.

    The server (`flask serve` with its queue workers) and the sandbox (150 requests/min) run
    as a user has them; the clock runs from the press until every invoice is stamped.
    """
    with tempfile.TemporaryDirectory() as folder:
        sandbox, app = _setup(folder)
        try:
            ids = [_draft(app, [1]) for _ in range(count)]
            _reset(sandbox)
            with Server(folder, sandbox_url=sandbox.url) as server:
                session = server.session()
                started = time.monotonic()
                response = session.post(server.base + "/facturas/lotes", headers={
                    "X-CSRFToken": session.csrf}, data={
                    "csrf_token": session.csrf, "all_ready": "Timbrar todas"})
                response.raise_for_status()
                statuses = _wait_until_settled(app, ids, timeout=20 * 60)
                elapsed = time.monotonic() - started
                lot_page = response.text
            stats = _stats(sandbox)
            posted = stats["calls"].get("POST /invoices", 0)
        finally:
            sandbox.stop()
    rejected = sum(n for call, n in stats["calls"].items() if call.endswith(" 429"))
    sent = stats["total"] - rejected
    per_minute = sent / (elapsed / 60)
    stamped = statuses.get("stamped", 0)
    # A fixed window lets a burst exceed 150 in a short span; over the run, cap at 100 %.
    share = min(1.0, per_minute / LIMIT)
    ok = share >= 0.9 and rejected == 0 and stamped == count and posted == count and \
        "lote" in lot_page.lower()
    return [{"what": (f"«Timbrar todas las listas» con {count} borradores por el servidor real "
                      f"(cola, límite de {LIMIT}/min)"),
             "value": (f"{elapsed:.0f} s; {stamped} timbradas, {posted} POST /invoices, "
                       f"{sent} solicitudes ({per_minute:.0f}/min, {share:.0%} del ritmo "
                       f"permitido); {rejected} respuestas 429; estados: {statuses}"),
             "target": "≥ 90 % del límite, 0 × 429, cada factura timbrada una vez",
             "ok": ok}]


def _wait_until_settled(app, ids, timeout):
    """Poll the database until no invoice of ids is queued or stamping; {status: count}."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            rows = db.session.query(Invoice.status, db.func.count()).filter(
                Invoice.id.in_(ids)).group_by(Invoice.status).all()
            db.session.remove()
        statuses = dict(rows)
        if not {"draft", "queued", "stamping"} & set(statuses) or time.monotonic() > deadline:
            return statuses
        time.sleep(1)
