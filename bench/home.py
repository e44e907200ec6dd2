"""Inicio with 100k invoices, measured through the real HTTP server (waitress, own thread)."""
import re
import tempfile
import threading

import requests
from waitress import create_server

from .common import summary
from .common import timed
from .dataset import populate
from .harness import signed_in_client

TARGET_P95_MS = 100.0
SAMPLES = 40


def run():
    """Return one result row: p50/p95 of GET / with 100k invoices."""
    with tempfile.TemporaryDirectory() as folder:
        app, _client = signed_in_client(folder)
        with app.app_context():
            populate(invoices=100_000)
        server = create_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.effective_port}"
        try:
            session = requests.Session()
            page = session.get(base + "/entrar", timeout=30).text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            from conftest import PASSWORD
            session.post(base + "/entrar", data={"csrf_token": token, "username": "duena",
                                                 "password": PASSWORD}, timeout=30)
            for _ in range(3):
                session.get(base + "/", timeout=30)
            samples = []
            for _ in range(SAMPLES):
                ms, response = timed(session.get, base + "/", timeout=30)
                assert response.status_code == 200 and "Este mes" in response.text
                samples.append(ms)
        finally:
            server.close()
    stats = summary(samples)
    return [{"what": "Inicio (resumen del mes) con 100k facturas, por HTTP real: p50/p95",
             "value": f"{stats['p50']:.1f}/{stats['p95']:.1f} ms",
             "target": f"p95 < {TARGET_P95_MS:g} ms", "ok": stats["p95"] < TARGET_P95_MS}]


if __name__ == "__main__":
    print(run())
