"""Alegra requests per REP: the account's first (reads the bank accounts) and steady state."""
import datetime
import re
import tempfile

from .alegra_cost import _reset
from .alegra_cost import _stats
from .harness import sandbox_connected


def _setup(folder):
    from conftest import Invoicing

    sandbox, app, user = sandbox_connected(folder)
    return sandbox, Invoicing(user, app, sandbox)


def _pay(invoicing, invoice_id, amount):
    """Press «Registrar pago» for invoice_id as a user does; assert the REP was stamped."""
    page = invoicing.user.get(f"/pagos/nuevo?factura={invoice_id}").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    response = invoicing.user.post("/pagos/nuevo", {
        "customer_id": str(invoicing.customer_id), "form_token": token,
        "paid_date": datetime.date.today().isoformat(), "paid_time": "00:01",
        "forma_pago": "03", "currency": "MXN", "amount": amount,
        f"apply-{invoice_id}": amount}, htmx=True)
    assert "REP timbrado" in response.get_data(as_text=True), response.get_data(as_text=True)


def requests_per_rep():
    """Return result rows: the account's first REP, then a REP in steady state."""
    with tempfile.TemporaryDirectory() as folder:
        sandbox, invoicing = _setup(folder)
        try:
            invoice_id = invoicing.draft(metodo_pago="PPD", forma_pago="99")
            invoicing.stamp(invoice_id, metodo_pago="PPD", forma_pago="99")
            _reset(sandbox)
            _pay(invoicing, invoice_id, "100")
            first = _stats(sandbox)
            _reset(sandbox)
            _pay(invoicing, invoice_id, "100")
            steady = _stats(sandbox)
        finally:
            sandbox.stop()
    detail = ", ".join(f"{k}×{v}" for k, v in sorted(first["calls"].items()))
    return [{"what": "Solicitudes a Alegra: primer complemento de pago de la cuenta",
             "value": f"{first['total']} ({detail})", "target": "—", "ok": None},
            {"what": "Solicitudes a Alegra por complemento de pago (estado estable)",
             "value": str(steady["total"]), "target": "1", "ok": steady["total"] == 1}]


if __name__ == "__main__":
    print(requests_per_rep())
