"""Install for non-developers: the wheel, installed outside the checkout, migrates and serves."""
import os
import shutil
import subprocess
import sys
import sysconfig

import requests

from test_startup import ROOT
from test_startup import Started

KEEP_OUT = {".venv", ".git", "instance", "test-artifacts", "build", "dist", ".pytest_cache",
            "__pycache__", "node_modules"}


def build_wheel(tmp_path):
    """Build the wheel from a copy of the sources (nothing is written into the checkout)."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=lambda _d, names: [
        n for n in names if n in KEEP_OUT or n.endswith(".egg-info")])
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                    "-w", str(out), str(source)], check=True, cwd=tmp_path)
    (wheel,) = out.glob("apunto_fact-*.whl")
    return wheel


def fresh_venv(tmp_path):
    """A new venv whose dependencies come from this venv's site-packages (no downloads)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run([str(python), "-c", code], check=True, capture_output=True,
                             text=True).stdout.strip()
    # Only the path: this venv's own .pth files (our editable install) are not processed.
    with open(os.path.join(purelib, "zz_shared_deps.pth"), "w", encoding="utf-8") as fh:
        fh.write(sysconfig.get_paths()["purelib"] + "\n")
    return venv, python


def test_the_wheel_installs_outside_the_checkout_and_serves(tmp_path):
    wheel = build_wheel(tmp_path)
    venv, python = fresh_venv(tmp_path)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    script = venv / "bin" / "apunto-fact"
    assert script.exists()
    home = tmp_path / "home"
    home.mkdir()
    where = subprocess.run([str(python), "-c", "import apunto_fact; print(apunto_fact.__file__)"],
                           check=True, capture_output=True, text=True, cwd=home).stdout
    assert where.startswith(str(venv))
    from apunto_fact.cli import free_port
    port = free_port("127.0.0.1", 5400)
    started = Started(["--port", str(port), "--no-browser", "--no-sandbox"], None, cwd=home,
                      command=[str(script)], home=home)
    try:
        url = started.wait_ready()
        assert url == f"http://127.0.0.1:{port}", started.output
        page = requests.get(url + "/", timeout=30)
        assert page.status_code == 200 and "Crea la cuenta del dueño" in page.text
        assert requests.get(url + "/static/app.css", timeout=30).status_code == 200
    finally:
        started.stop()
    data = home / ".local" / "share" / "apunto-fact"
    assert (data / "apunto_fact.sqlite").exists() and (data / "secret_key").exists()
    assert "Traceback" not in started.output
