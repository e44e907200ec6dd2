"""Month end with Alegra's minute spent: 8 users press Timbrar while 8 others browse.

Through the real server (`flask serve`: waitress and the queue's workers in one process): the
stampers' clicks must be answered at once with a place in line, browsing must stay fast while
the stamps wait for Alegra's next minute, and then the queue drains within the shared budget:
every invoice stamped once, no 429.
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
from .pages import THINK

STAMPERS = 8
BROWSERS = 8
STAMPS_EACH = 5
BROWSE_REQUESTS = 600
TARGET_BROWSE_P95_MS = 200.0
# The installation believes Alegra's minute spent for this long when the clicks start.
SPENT_SECONDS = 10
# 40 stamps × 3 requests fit in one fresh minute: draining needs the wait plus the stamps.
DRAIN_TIMEOUT = 600


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
        if response.status_code != 200 or "en cola para timbrar" not in response.text.lower():
            failures.append((invoice_id, response.status_code))


def _stamped(app, ids):
    from apunto_fact.extensions import db
    from apunto_fact.invoices.models import Invoice

    with app.app_context():
        count = db.session.query(Invoice.id).filter(Invoice.id.in_(ids),
                                                    Invoice.status == "stamped").count()
        db.session.remove()
    return count


def run():
    """Return result rows for the scenario."""
    with tempfile.TemporaryDirectory() as folder:
        sandbox, app = _setup(folder)
        try:
            ids = [_draft(app, [1]) for _ in range(STAMPERS * STAMPS_EACH)]
            with app.app_context():
                budget.for_user(sandbox.url, EMAIL, may_wait=False).observe(0, SPENT_SECONDS)
            from conftest import sandbox_control
            sandbox_control(sandbox, "faults", {"rate_limit": 150, "window": 60})
            sandbox_control(sandbox, "stats/reset")
            stamp_ms, failures, browse = [], [], {}
            with Server(folder, sandbox_url=sandbox.url) as server:
                started = time.perf_counter()
                stampers = [threading.Thread(target=_stamper, args=(
                    server, ids[n::STAMPERS], stamp_ms, failures)) for n in range(STAMPERS)]
                for thread in stampers:
                    thread.start()
                pages = ["/facturas/", "/facturas/?estado=draft", f"/facturas/{ids[0]}"]
                browse["ms"], browse["errors"], _ = load(
                    server, lambda rng: rng.choice(pages), BROWSERS, BROWSE_REQUESTS,
                    think=THINK)
                browse["stamped"] = _stamped(app, ids)
                for thread in stampers:
                    thread.join()
                deadline = time.monotonic() + DRAIN_TIMEOUT
                while _stamped(app, ids) < len(ids) and time.monotonic() < deadline:
                    time.sleep(0.5)
                drained = time.perf_counter() - started
                stamped = _stamped(app, ids)
            stats = _stats(sandbox)
        finally:
            sandbox.stop()
    p95 = percentile(browse["ms"], 95)
    rejected = sum(v for k, v in stats["calls"].items() if k.endswith("429"))
    posts = stats["calls"].get("POST /invoices", 0)
    total = len(ids)
    return [
        {"what": f"Minuto de Alegra agotado: {BROWSERS} usuarios navegan (listas, detalle) "
                 f"mientras {STAMPERS} presionan Timbrar — p50/p95 de la navegación",
         "value": f"{statistics.median(browse['ms']):.1f} / {p95:.1f} ms "
                  f"({len(browse['ms'])} solicitudes, {browse['errors']} errores; "
                  f"{browse['stamped']} de {total} timbradas al terminar)",
         "target": f"p95 < {TARGET_BROWSE_P95_MS:g} ms",
         "ok": p95 < TARGET_BROWSE_P95_MS and browse["errors"] == 0},
        {"what": "… y los clics en Timbrar: respuesta p50/p95 (quedan «En cola para timbrar»)",
         "value": f"{statistics.median(stamp_ms):.1f} / {percentile(stamp_ms, 95):.1f} ms; "
                  f"{len(stamp_ms) - len(failures)} de {len(stamp_ms)} en cola",
         "target": "al momento, sin esperar a Alegra", "ok": not failures},
        {"what": f"… la cola se vacía: {total} facturas timbradas (el minuto seguía agotado "
                 f"{SPENT_SECONDS} s al empezar)",
         "value": f"{stamped} de {total} en {drained:.0f} s; {posts} POST /invoices; "
                  f"{rejected} respuestas 429",
         "target": "todas, una vez cada una, 0 × 429",
         "ok": stamped == total and posts == total and rejected == 0},
    ]
