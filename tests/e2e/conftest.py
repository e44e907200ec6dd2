"""Browser fixtures: the app served over HTTP and Debian's chromium driven by Playwright."""
import os
import shutil
import threading

import pytest
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from apunto_fact import create_app
from conftest import fresh_schema

ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]


def chromium_path():
    """Debian's chromium; Playwright's own browser download is not available here."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or \
        shutil.which("chromium-browser")
    if not path:
        pytest.fail("No se encontró chromium: `make test` lo instala (apt-get install chromium).")
    return path


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                              args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        """No access log in test output."""


@pytest.fixture
def live_app(app_config, monkeypatch):
    """The app on a free port of 127.0.0.1, fresh instance, pointing at the sandbox."""
    for var in ("APUNTO_DATABASE_URL", "APUNTO_FERNET_KEYS", "SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)
    app = create_app({**app_config, "TESTING": False})
    fresh_schema(app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(browser, live_app, request):
    """A fresh browser page; a screenshot is saved when the test fails."""
    context = browser.new_context(base_url=live_app.base_url, locale="es-MX",
                                  accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.js_errors = errors
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        os.makedirs(ARTIFACTS, exist_ok=True)
        tab.screenshot(path=os.path.join(ARTIFACTS, f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report on the test item (for the screenshot on failure)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


class NoNavigation:
    """Assert that an htmx action swapped content without a full page load."""

    def __init__(self, tab):
        self.tab = tab

    def __enter__(self):
        self.tab.evaluate("window.__sameDocument = true")
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            assert self.tab.evaluate("window.__sameDocument === true"), "the page reloaded"


@pytest.fixture
def same_page(page):
    """Context manager factory: ``with same_page(): ...`` fails if the page navigated."""
    return lambda: NoNavigation(page)


def htmx_idle(tab):
    """Wait until htmx has no request in flight and nothing swapping or settling.

    Newly swapped inputs get their htmx listeners while settling; typing into them before
    that is faster than any person and would be missed.
    """
    tab.wait_for_function("""() => !document.querySelector(
        '.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')""")
    tab.wait_for_timeout(50)


def create_owner(tab):
    """First run: from any page to the owner account, landing on the Alegra settings."""
    from playwright.sync_api import expect

    from conftest import PASSWORD
    tab.goto("/")
    expect(tab.get_by_role("heading", name="Crea la cuenta del dueño")).to_be_visible()
    tab.get_by_label("Usuario").fill("duena")
    tab.get_by_label("Contraseña", exact=True).fill(PASSWORD)
    tab.get_by_label("Repite la contraseña").fill(PASSWORD)
    tab.get_by_role("button", name="Crear cuenta").click()
    expect(tab.get_by_role("heading", name="Conexión con Alegra")).to_be_visible()
