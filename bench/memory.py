"""Peak memory of the real server (waitress) after serving the heavy pages."""
import os
import tempfile

from .harness import signed_in_client
from .http import Server

TARGET_MB = None


def run():
    """Start `flask serve`, exercise catalog search and lists, read its VmHWM."""
    if not os.path.exists("/proc/self/status"):
        return [{"what": "Memoria máxima del servidor", "value": "no medible aquí",
                 "target": "—", "ok": None}]
    with tempfile.TemporaryDirectory() as folder:
        app, _ = signed_in_client(folder, PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
        with app.app_context():
            from .dataset import populate
            populate(invoices=10_000)
        with Server(folder) as server:
            session = server.session()
            for url in ("/facturas/", "/clientes/?q=grupo", "/facturas/1",
                        "/sat/productos?target=clave_prod_serv&clave_prod_serv=consultoria",
                        "/sat/unidades?target=clave_unidad&clave_unidad=pieza"):
                for _ in range(20):
                    assert session.get(server.base + url).status_code == 200, url
            session.post(server.base + "/clientes/campos", data={"_trigger": "cp", "cp": "06600"},
                         headers={"X-CSRFToken": session.csrf})
            peak = server.peak_kb()
    return [{"what": "Memoria máxima del servidor (waitress, catálogos del SAT cargados, 10k facturas)",
             "value": f"{peak / 1024:.0f} MiB", "target": "—", "ok": None}]
