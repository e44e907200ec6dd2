"""Peak memory of the real server (waitress) after serving the heavy pages."""
import os
import socket
import subprocess
import sys
import tempfile
import time

import requests

from .harness import signed_in_client

TARGET_MB = None


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        port = _free_port()
        env = {**os.environ, "APUNTO_INSTANCE_PATH": folder, "SECRET_KEY": "bench"}
        server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "apunto_fact", "serve",
                                   "--no-sandbox", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    requests.get(base + "/entrar", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            session = requests.Session()
            page = session.get(base + "/entrar").text
            token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
            session.post(base + "/entrar", data={"csrf_token": token, "username": "duena",
                                                 "password": "contraseña-segura"})
            for url in ("/facturas/", "/clientes/?q=grupo", "/facturas/1",
                        "/sat/productos?target=clave_prod_serv&clave_prod_serv=consultoria",
                        "/sat/unidades?target=clave_unidad&clave_unidad=pieza"):
                for _ in range(20):
                    assert session.get(base + url).status_code == 200, url
            session.post(base + "/clientes/campos", data={"_trigger": "cp", "cp": "06600"},
                         headers={"X-CSRFToken": token})
            with open(f"/proc/{server.pid}/status", encoding="ascii") as fh:
                peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
        finally:
            server.terminate()
            server.wait(timeout=10)
    return [{"what": "Memoria máxima del servidor (waitress, catálogos del SAT cargados, 10k facturas)",
             "value": f"{peak / 1024:.0f} MiB", "target": "—", "ok": None}]
