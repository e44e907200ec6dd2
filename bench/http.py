"""The real server (`flask serve`: waitress, 8 threads) in a subprocess, and users hitting it."""
import http.client
import os
import random
import socket
import subprocess
import sys
import threading
import time

import requests

PASSWORD = "contraseña-segura"
USER_AGENT = "apunto-bench"


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`flask serve --no-sandbox` on an instance folder (and optionally a database URL)."""

    def __init__(self, folder, database_url=None, sandbox_url=None):
        self.folder, self.database_url, self.sandbox_url = folder, database_url, sandbox_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.cookie = None

    def __enter__(self):
        env = {**os.environ, "APUNTO_INSTANCE_PATH": self.folder, "SECRET_KEY": "bench"}
        env.pop("APUNTO_DATABASE_URL", None)
        if self.database_url:
            env["APUNTO_DATABASE_URL"] = self.database_url
        if self.sandbox_url:
            env["APUNTO_SANDBOX_URL"] = self.sandbox_url
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "apunto_fact", "serve", "--no-sandbox",
             "--port", str(self.port)], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(self.base + "/entrar", timeout=2)
                break
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("el servidor no arrancó") from None
                time.sleep(0.1)
        self.cookie = self.login()
        return self

    def session(self, username="duena"):
        """A requests.Session signed in through the login form (its .csrf is the token)."""
        session = requests.Session()
        # Flask-Login ties the session to the browser's identity: the users send this too.
        session.headers["User-Agent"] = USER_AGENT
        page = session.get(self.base + "/entrar").text
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = session.post(self.base + "/entrar", allow_redirects=False, data={
            "csrf_token": token, "username": username, "password": PASSWORD})
        assert response.status_code in (302, 303), response.status_code
        session.csrf = token
        return session

    def login(self, username="duena"):
        """Sign in through the login form; return the Cookie header of the session."""
        return "; ".join(f"{k}={v}" for k, v in self.session(username).cookies.items())

    def peak_kb(self):
        """The server process's peak resident memory (VmHWM), in KiB."""
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def load(server, make_url, users, requests_total, headers=None, seed=0, think=None):
    """Closed loop: users threads, until requests_total are done.

    think=(low, high) makes each user pause a random time in that range (seconds) after each
    answer, as a person reading or typing does; None sends the next request at once.

    Each user keeps one keep-alive connection, as a browser does. Returns
    (latencies in ms, errors, seconds elapsed).
    """
    lock = threading.Lock()
    state = {"left": requests_total, "errors": 0}
    samples = []
    send = {"Cookie": server.cookie, "User-Agent": USER_AGENT, **(headers or {})}

    def user(number):
        rng = random.Random(seed * 1000 + number)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            while True:
                with lock:
                    if state["left"] <= 0:
                        return
                    state["left"] -= 1
                url = make_url(rng)
                started = time.perf_counter()
                try:
                    connection.request("GET", url, headers=send)
                    response = connection.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", server.port,
                                                            timeout=120)
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    samples.append(elapsed)
                    state["errors"] += 0 if ok else 1
                if think:
                    time.sleep(rng.uniform(*think))
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, state["errors"], time.perf_counter() - started
