"""Month end with Alegra's minute spent: 8 users press Timbrar while 8 others browse.

Through the real server: the stampers' clicks must be answered at once (the shared budget says
when to retry) and browsing must stay fast; Alegra (the sandbox, its own window spent too)
must see no request, so no 429.
"""
import re
import statistics
import tempfile
import threading
import time

import requests

from apunto_fact.alegra import budget

from .alegra_cost import EMAIL
from .alegra_cost import _draft
from .alegra_cost import _setup
from .alegra_cost import _stats
from .common import percentile
from .http import USER_AGENT
from .http import Server
from .http import load

STAMPERS = 8
BROWSERS = 8
STAMPS_EACH = 10
BROWSE_REQUESTS = 600
TARGET_BROWSE_P95_MS = 200.0


def _stamper(server, invoice_ids, timings, failures):
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Cookie": server.login()})
    for invoice_id in invoice_ids:
        page = session.get(f"{server.base}/facturas/{invoice_id}").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
        data = {"csrf_token": token, "version": version, "customer_id": "1",
                "date": time.strftime("%Y-%m-%d"), "currency": "MXN", "uso_cfdi": "G03",
                "metodo_pago": "PUE", "forma_pago": "03", "lines-0-product_id": "1",
                "lines-0-quantity": "1", "lines-0-unit_price": "1000",
                "lines-0-discount_pct": "0", "lines-0-description": "Concepto 0"}
        started = time.perf_counter()
        response = session.post(f"{server.base}/facturas/{invoice_id}/timbrar", data=data,
                                headers={"HX-Request": "true", "X-CSRFToken": token})
        timings.append((time.perf_counter() - started) * 1000)
        if "intenta de nuevo en" not in response.text.lower():
            failures.append((invoice_id, response.status_code))


def run():
    """Return result rows for the scenario."""
    with tempfile.TemporaryDirectory() as folder:
        sandbox, app = _setup(folder)
        try:
            ids = [_draft(app, [1]) for _ in range(STAMPERS * STAMPS_EACH)]
            with app.app_context():
                budget.for_user(sandbox.url, EMAIL, may_wait=False).observe(0, 600)
            from conftest import sandbox_control
            sandbox_control(sandbox, "faults", {"rate_limit": 0, "window": 600})
            sandbox_control(sandbox, "stats/reset")
            stamp_ms, failures, browse = [], [], {}
            with Server(folder, sandbox_url=sandbox.url) as server:
                stampers = [threading.Thread(target=_stamper, args=(
                    server, ids[n::STAMPERS], stamp_ms, failures)) for n in range(STAMPERS)]
                for thread in stampers:
                    thread.start()
                pages = ["/facturas/", "/facturas/?estado=draft", f"/facturas/{ids[0]}"]
                browse["ms"], browse["errors"], _ = load(
                    server, lambda rng: rng.choice(pages), BROWSERS, BROWSE_REQUESTS)
                for thread in stampers:
                    thread.join()
            stats = _stats(sandbox)
        finally:
            sandbox.stop()
    p95 = percentile(browse["ms"], 95)
    rejected = sum(v for k, v in stats["calls"].items() if k.endswith("429"))
    untouched = rejected == 0 and stats["total"] == 0
    return [
        {"what": f"Minuto de Alegra agotado: {BROWSERS} usuarios navegan (listas, detalle) "
                 f"mientras {STAMPERS} presionan Timbrar — p50/p95 de la navegación",
         "value": f"{statistics.median(browse['ms']):.1f} / {p95:.1f} ms "
                  f"({len(browse['ms'])} solicitudes, {browse['errors']} errores)",
         "target": f"p95 < {TARGET_BROWSE_P95_MS:g} ms",
         "ok": p95 < TARGET_BROWSE_P95_MS and browse["errors"] == 0},
        {"what": "… y los clics en Timbrar: respuesta p50/p95 (aviso «Intenta de nuevo en N s»)",
         "value": f"{statistics.median(stamp_ms):.1f} / {percentile(stamp_ms, 95):.1f} ms; "
                  f"{len(stamp_ms) - len(failures)} de {len(stamp_ms)} con el aviso",
         "target": "al momento, sin esperar a Alegra", "ok": not failures},
        {"what": "… solicitudes que llegaron a Alegra / respuestas 429",
         "value": f"{stats['total']} / {rejected}", "target": "0 / 0", "ok": untouched},
    ]
