"""Fixtures: the app on a migrated temp database, and the Alegra sandbox over real HTTP."""
import contextlib
import os
import re
import shutil
import socket
import subprocess
import time

import pytest
import requests

from apunto_fact import create_app
from apunto_fact.sandbox.server import SandboxServer

# Tests write "today" with date.today(); the app's today is Mexico's (DISPLAY_TIMEZONE). On a
# UTC machine they differ every evening, so the suite (and the servers it starts) lives in Mexico.
os.environ["TZ"] = "America/Mexico_City"
time.tzset()

# Run the suite against another database (PostgreSQL) with APUNTO_TEST_DATABASE_URL;
# by default each test gets a copy of a migrated SQLite file.
TEST_DATABASE_URL = os.environ.get("APUNTO_TEST_DATABASE_URL")
SANDBOX_EMAIL = "demo@sandbox.apunto.mx"
SANDBOX_TOKEN = "sbx-test-token-3d8f0a91c7"
PASSWORD = "contraseña-segura"


# The scaled-out pass (scripts/test-scaled.sh): the task queue in a private Redis for every test,
# and the tests marked `scaled` (several processes) selected.
SCALED = os.environ.get("APUNTO_TEST_SCALED") == "1"


def pytest_collection_modifyitems(config, items):
    """Outside the scaled pass, leave out the multi-process tests (they run in that pass)."""
    if SCALED:
        return
    left = [item for item in items if item.get_closest_marker("scaled")]
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = [item for item in items if not item.get_closest_marker("scaled")]


class RedisServer:
    """A redis-server of this test run only: its own port and folder, nothing saved."""

    def __init__(self, folder, port=None):
        executable = shutil.which("redis-server")
        if not executable:
            if os.environ.get("APUNTO_TEST_SKIP_REDIS") == "1" and not os.environ.get("CI"):
                pytest.skip("redis-server no está instalado (APUNTO_TEST_SKIP_REDIS=1)")
            pytest.fail("redis-server no está instalado: las pruebas de la cola en Redis lo "
                        "necesitan. `make test` lo instala (apt-get install redis-server); "
                        "localmente se pueden omitir con APUNTO_TEST_SKIP_REDIS=1 (en CI, nunca).",
                        pytrace=False)
        os.makedirs(folder, exist_ok=True)
        for _ in range(5):  # the free port may be taken between the probe and the bind
            if port is None:
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", 0))
                    self.port = probe.getsockname()[1]
            else:
                self.port = port  # started again where the stack expects it
            self.process = subprocess.Popen(
                [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                 str(folder), "--save", "", "--appendonly", "no", "--daemonize", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.url = f"redis://127.0.0.1:{self.port}/0"
            if self._up():
                return
            self.process.kill()
            self.process.wait()
        pytest.fail("redis-server no arrancó", pytrace=False)

    def client(self):
        import redis
        return redis.Redis.from_url(self.url)

    def _up(self, timeout=20):
        import redis
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                return self.client().ping()
            except redis.RedisError:
                time.sleep(0.05)
        return False

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A private redis-server on a free port for the whole run (parallel runs never collide)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _queue_in_redis_when_scaled(request, monkeypatch):
    """In the scaled pass every app (and every server it starts) keeps its queue in Redis."""
    if not SCALED:
        yield
        return
    server = request.getfixturevalue("redis_server")
    monkeypatch.setenv("APUNTO_JOBS_REDIS_URL", server.url)
    yield
    server.client().flushdb()


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    """One sandbox for the whole run, on a free port."""
    path = tmp_path_factory.mktemp("sandbox") / "state.sqlite"
    server = SandboxServer(str(path), email=SANDBOX_EMAIL, token=SANDBOX_TOKEN).start()
    yield server
    server.stop()


# The sandbox's /_sandbox switches answer only requests with this header (no cross-site use).
SANDBOX_CONTROL = {"X-Sandbox-Control": "1"}


def sandbox_control(sandbox, path, json=None, method="POST"):
    """Call a /_sandbox switch (path like "faults" or "stats/reset") with the control header."""
    response = requests.request(method, f"{sandbox.root}/_sandbox/{path}", json=json,
                                headers=SANDBOX_CONTROL, timeout=5)
    response.raise_for_status()
    return response


def assert_cfdis_obey_the_sat(server):
    """Every CFDI the sandbox stamped so far is XSD-valid and obeys Anexo 20's sums."""
    from cfdi_check import check_store
    seen = server.__dict__.setdefault("_checked_xml", set())
    failures = check_store(server.app.extensions["sandbox"]["store"], seen)
    assert failures == [], failures


def sql_statements(app, fn):
    """The SQL statements (lower-cased) the app's engine ran while fn() ran."""
    from sqlalchemy import event
    seen = []
    with app.app_context():
        from apunto_fact.extensions import db
        engine = db.engine

    def record(conn, cursor, statement, *args):
        seen.append(statement.lower())
    event.listen(engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


@contextlib.contextmanager
def private_sandbox(folder, **options):
    """A sandbox with a fresh account for one test; its CFDIs are checked against the SAT."""
    server = SandboxServer(str(folder / "sandbox.sqlite"), email=SANDBOX_EMAIL,
                           token=SANDBOX_TOKEN, **options).start()
    try:
        yield server
        assert_cfdis_obey_the_sat(server)
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server):
    """The sandbox, with faults, counters and the rate window reset after each test."""
    yield sandbox_server
    assert_cfdis_obey_the_sat(sandbox_server)
    sandbox_control(sandbox_server, "faults", {"clear": True, "rate_limit": 150, "window": 60})
    sandbox_control(sandbox_server, "stats/reset")


def set_faults(sandbox, **config):
    """Configure the sandbox's fault injection over HTTP."""
    sandbox_control(sandbox, "faults", config)


def sandbox_calls(sandbox):
    """Return the sandbox's call counters."""
    return sandbox_control(sandbox, "stats", method="GET").json()


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory):
    """A database file upgraded through every migration once; tests get copies."""
    from flask_migrate import upgrade

    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite"
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(folder), "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        from apunto_fact.extensions import db
        db.engine.dispose()
    return path


@pytest.fixture
def app_config(tmp_path, migrated_db, sandbox_server):
    """Configuration of the app under test; tests may adjust it before `app` is built."""
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copy(migrated_db, instance / "apunto_fact.sqlite")
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL or
        f"sqlite:///{instance / 'apunto_fact.sqlite'}",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "ALEGRA_SANDBOX_URL": sandbox_server.url,
        "SANDBOX_EMAIL": SANDBOX_EMAIL,
        "SANDBOX_TOKEN": SANDBOX_TOKEN,
        "ALEGRA_STATUS_READ_TIMEOUT": 2.0,
        "ALEGRA_READ_TIMEOUT": 2.0,
        "ALEGRA_RETRY_BACKOFF": 0,
        # Queued tasks run inline in the request that enqueues them (Huey's immediate mode):
        # a view answers with the final result. Tests of the queue itself turn it off and
        # run a real consumer.
        "JOBS_IMMEDIATE": True,
    }


@pytest.fixture
def app(app_config, monkeypatch):
    """The app, isolated from the developer's environment variables."""
    for var in ("APUNTO_DATABASE_URL", "APUNTO_ALEGRA_URL", "APUNTO_SANDBOX_URL",
                "APUNTO_FERNET_KEYS", "SECRET_KEY", "APUNTO_INSTANCE_PATH"):
        monkeypatch.delenv(var, raising=False)
    application = create_app(app_config)
    fresh_schema(application)
    yield application
    with application.app_context():
        from apunto_fact.extensions import db
        db.session.remove()
        db.engine.dispose()


def fresh_schema(application):
    """On a server database, drop everything and migrate from zero (SQLite files are copies)."""
    if not TEST_DATABASE_URL:
        return
    from flask_migrate import upgrade
    from sqlalchemy import text

    from apunto_fact.extensions import db
    with application.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


def csrf_from(html):
    """Return the CSRF token embedded in a rendered page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html) or \
        re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


class Browserless:
    """Helper that signs in and posts forms with the page's CSRF token, like a user."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        if response.mimetype == "text/html" and b"csrf" in response.data.lower():
            try:
                self.token = csrf_from(response.get_data(as_text=True))
            except AssertionError:
                pass
        return response

    def post(self, url, data=None, htmx=False, **kwargs):
        if self.token is None:
            self.get("/")
        data = {"csrf_token": self.token, **(data or {})}
        headers = kwargs.pop("headers", {})
        if htmx:
            headers = {"HX-Request": "true", **headers}
        return self.client.post(url, data=data, headers=headers, **kwargs)

    def create_owner(self, username="duena", password=PASSWORD):
        self.get("/primer-uso")
        return self.post("/primer-uso", {"username": username, "password": password,
                                         "confirm": password})

    def login(self, username="duena", password=PASSWORD):
        self.get("/entrar")
        return self.post("/entrar", {"username": username, "password": password})


@pytest.fixture
def user(client):
    """A signed-in owner on a fresh instance."""
    helper = Browserless(client)
    response = helper.create_owner()
    assert response.status_code == 303
    helper.get("/")
    return helper


@pytest.fixture
def connected(user, sandbox):
    """A signed-in owner whose Alegra connection points at the sandbox."""
    user.get("/configuracion/integraciones/alegra")
    response = user.post("/configuracion/integraciones/alegra",
                         {"environment": "sandbox", "api_email": SANDBOX_EMAIL,
                          "api_token": SANDBOX_TOKEN})
    assert response.status_code == 303
    return user


def instance_bytes(app):
    """Every byte the app stores: files under instance/ and every row of every table."""
    from apunto_fact.extensions import db
    chunks = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                chunks.append(repr(tuple(row)).encode())
        db.session.remove()
    for root, _dirs, files in os.walk(app.instance_path):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                chunks.append(fh.read())
    return b"".join(chunks)


COMPANY = {"rfc": "EKU9003173C9", "name": "ESCUELA KEMPER URGATE", "regimen": "601",
           "cp": "42501"}
CUSTOMER = {"rfc": "CACX7605101P8", "name": "XOCHILT CASAS CHAVEZ", "regimen": "612",
            "uso_cfdi": "G03", "metodo_pago": "PUE", "forma_pago": "03", "credit_days": "0",
            "partner_type": "cliente", "cp": "10740"}
PRODUCT = {"name": "Consultoría", "clave_prod_serv": "80101500", "clave_unidad": "E48",
           "unit_price": "1000", "objeto_imp": "02", "iva": "16"}


class Invoicing:
    """A signed-in owner, connected to the sandbox, with company, a customer and products."""

    def __init__(self, user, app, sandbox):
        self.user, self.app, self.sandbox = user, app, sandbox
        user.post("/configuracion/integraciones/alegra/estado", htmx=True)
        assert user.post("/configuracion/facturacion", COMPANY, htmx=True).status_code == 200
        self.customer_id = self.add_customer(CUSTOMER)
        self.product_ids = [self.add_product(PRODUCT)]

    def add_customer(self, data):
        response = self.user.post("/clientes/nuevo", data, htmx=True)
        assert response.status_code == 204, response.get_data(as_text=True)[:2000]
        with self.app.app_context():
            from apunto_fact.customers.models import Customer
            from apunto_fact.extensions import db
            return db.session.query(Customer.id).filter_by(rfc=data["rfc"]).order_by(
                Customer.id.desc()).first()[0]

    def add_product(self, data):
        response = self.user.post("/productos/nuevo", data, htmx=True)
        assert response.status_code == 204, response.get_data(as_text=True)[:2000]
        with self.app.app_context():
            from apunto_fact.extensions import db
            from apunto_fact.products.models import Product
            return db.session.query(Product.id).order_by(Product.id.desc()).first()[0]

    def form(self, customer_id=None, lines=None, **header):
        import datetime
        data = {"customer_id": str(customer_id or self.customer_id),
                "date": datetime.date.today().isoformat(), "currency": "MXN",
                "uso_cfdi": "G03", "metodo_pago": "PUE", "forma_pago": "03", **header}
        for i, line in enumerate(lines or [{"product_id": self.product_ids[0]}]):
            defaults = {"description": "Consultoría mensual", "quantity": "1",
                        "unit_price": "1000", "discount_pct": "0"}
            for key, value in {**defaults, **line}.items():
                data[f"lines-{i}-{key}"] = str(value)
        return data

    def draft(self, **kwargs):
        response = self.user.post("/facturas/nueva", self.form(**kwargs), htmx=True)
        assert response.status_code == 204, response.get_data(as_text=True)[:3000]
        return int(response.headers["HX-Redirect"].rsplit("/", 1)[1])

    def stamp(self, invoice_id, version=None, **kwargs):
        """Press Timbrar on the editor as last drawn (the stored version unless given)."""
        data = {**self.form(**kwargs), "version": str(version or self.version(invoice_id))}
        return self.user.post(f"/facturas/{invoice_id}/timbrar", data, htmx=True)

    def save(self, invoice_id, version=None, **kwargs):
        """Press Guardar on the editor as last drawn (the stored version unless given)."""
        data = {**self.form(**kwargs), "version": str(version or self.version(invoice_id))}
        return self.user.post(f"/facturas/{invoice_id}", data, htmx=True)

    def version(self, invoice_id):
        return self.invoice(invoice_id).version

    def invoice(self, invoice_id):
        with self.app.app_context():
            from apunto_fact.extensions import db
            from apunto_fact.invoices.models import Invoice
            invoice = db.session.get(Invoice, invoice_id)
            db.session.expunge(invoice)
            return invoice

    def stamped(self, metodo="PPD", quantity="1"):
        """A stamped invoice of one product line (PPD: pagada en parcialidades)."""
        header = {"metodo_pago": metodo, "forma_pago": "99" if metodo == "PPD" else "03"}
        lines = [{"product_id": self.product_ids[0], "quantity": quantity}]
        invoice_id = self.draft(lines=lines, **header)
        self.stamp(invoice_id, lines=lines, **header)
        invoice = self.invoice(invoice_id)
        assert invoice.status == "stamped", invoice.problem_message
        return invoice

    def sandbox_invoices(self):
        return self.sandbox.app.extensions["sandbox"]["store"].all("invoices")


@pytest.fixture
def invoicing(connected, app, sandbox):
    """Ready to invoice against the sandbox (which is reset after each test)."""
    set_faults(sandbox, cancel_delay=0, cancel_outcome="accept")
    yield Invoicing(connected, app, sandbox)
