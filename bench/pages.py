"""Page latency with 1k and with 100k invoices (20k customers, 5k products)."""
import random
import tempfile

from .common import summary
from .common import timed
from .dataset import populate
from .harness import signed_in_client

TARGET_P95_MS = 50.0
TARGET_RATIO = 1.5
SAMPLES = 60


def measure(invoices):
    """Return {page: stats} for one dataset size."""
    with tempfile.TemporaryDirectory() as folder:
        app, client = signed_in_client(folder)
        with app.app_context():
            populate(invoices=invoices)
        rng = random.Random(3)
        pages = {
            "Lista de facturas": lambda: "/facturas/",
            "Lista filtrada (timbradas, por cliente)": lambda: "/facturas/?estado=stamped&q=grupo",
            "Búsqueda de clientes": lambda: f"/clientes/?q={rng.choice(['grupo', 'norte', 'taller', 'cli900'])}",
            "Detalle de factura": lambda: f"/facturas/{rng.randint(1, invoices)}",
        }
        results = {}
        for name, url in pages.items():
            for _ in range(5):
                client.get(url())
            samples = []
            for _ in range(SAMPLES):
                ms, response = timed(client.get, url())
                assert response.status_code == 200, (name, response.status_code)
                samples.append(ms)
            results[name] = summary(samples)
        return results


def run():
    """Return result rows comparing the two sizes."""
    small, large = measure(1_000), measure(100_000)
    rows = []
    for name in small:
        ratio = large[name]["p95"] / small[name]["p95"]
        ok = ratio <= TARGET_RATIO and large[name]["p95"] < TARGET_P95_MS
        rows.append({
            "what": f"{name}: p50/p95 con 1k → con 100k facturas (razón p95)",
            "value": (f"{small[name]['p50']:.1f}/{small[name]['p95']:.1f} → "
                      f"{large[name]['p50']:.1f}/{large[name]['p95']:.1f} ms "
                      f"(×{ratio:.2f})"),
            "target": f"razón ≤ {TARGET_RATIO}, p95 < {TARGET_P95_MS:g} ms", "ok": ok})
    return rows
