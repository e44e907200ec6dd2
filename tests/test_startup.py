"""Start-up never ends in a traceback: busy ports move to the next free one, in Spanish."""
import os
import re
import socket
import subprocess
import sys
import threading

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def busy_pair():
    """Hold two consecutive listening ports; return (sockets, first port)."""
    for _ in range(50):
        first = socket.socket()
        first.bind(("127.0.0.1", 0))
        port = first.getsockname()[1]
        second = socket.socket()
        try:
            second.bind(("127.0.0.1", port + 1))
        except OSError:
            first.close()
            second.close()
            continue
        first.listen()
        second.listen()
        return (first, second), port
    raise AssertionError("no two consecutive free ports")


class Started:
    """A running `python -m apunto_fact`; its output read line by line in a thread."""

    def __init__(self, args, instance, cwd=ROOT, command=(sys.executable, "-m", "apunto_fact"),
                 home=None):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("APUNTO_", "FLASK_", "XDG_"))
               and k not in ("PORT", "SECRET_KEY")}
        env["PYTHONUNBUFFERED"] = "1"
        if instance:
            env["APUNTO_INSTANCE_PATH"] = str(instance)
        if home:
            env["HOME"] = str(home)
        self.proc = subprocess.Popen([*command, *args], cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.url = None
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            match = re.match(r"apunto-fact en (http://\S+)", line)
            if match:
                self.url = match.group(1)
                self.ready.set()
        self.ready.set()

    def wait_ready(self, timeout=120):
        self.ready.wait(timeout)
        return self.url

    @property
    def output(self):
        return "".join(self.lines)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def test_busy_app_and_sandbox_ports_move_to_the_next_free_ones(tmp_path):
    held, port = busy_pair()
    # The sandbox wants `port` (busy) and gets port+2 at the earliest; the app wants port+1.
    started = Started(["--port", str(port + 1), "--sandbox-port", str(port), "--no-browser"],
                      tmp_path / "instance")
    try:
        url = started.wait_ready()
        assert url, started.output
        app_port = int(url.rsplit(":", 1)[1])
        assert app_port not in (port, port + 1)
        assert f"El puerto {port} está ocupado por otro programa; el sandbox de Alegra usará" \
            in started.output
        assert f"El puerto {port + 1} está ocupado por otro programa; apunto-fact usará el " \
            f"{app_port}." in started.output
        sandbox_port = int(re.search(r"Sandbox local de Alegra en http://127.0.0.1:(\d+)",
                                     started.output).group(1))
        assert sandbox_port not in (port, port + 1, app_port)
        page = requests.get(url + "/", timeout=30)
        assert page.status_code == 200 and "Crea la cuenta del dueño" in page.text
        assert requests.get(f"http://127.0.0.1:{sandbox_port}/api/v1/company",
                            timeout=30).status_code == 401
        assert "Traceback" not in started.output
    finally:
        started.stop()
        for sock in held:
            sock.close()
    assert "Traceback" not in started.output


def test_a_listening_port_is_skipped_and_a_free_one_kept():
    from apunto_fact.cli import free_port

    held, port = busy_pair()
    try:
        assert free_port("127.0.0.1", port) > port + 1
    finally:
        for sock in held:
            sock.close()
    assert free_port("127.0.0.1", port) == port
