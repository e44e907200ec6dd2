"""Phone and desktop: no sideways scroll, no serious accessibility problem, history and keys."""
import pytest
import requests
from playwright.sync_api import expect

from conftest import PASSWORD
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import Browserless
from conftest import Invoicing
from e2e.conftest import htmx_idle

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
BLOCKING = ("serious", "critical")


@pytest.fixture
def stocked(live_app, sandbox):
    """An owner, connected, with company, a customer, a product, a stamped invoice and a draft."""
    requests.post(f"{sandbox.root}/_sandbox/faults", json={"cancel_delay": 0}, timeout=5)
    helper = Browserless(live_app.test_client())
    assert helper.create_owner().status_code == 303
    helper.get("/configuracion/integraciones/alegra")
    helper.post("/configuracion/integraciones/alegra",
                {"environment": "sandbox", "api_email": SANDBOX_EMAIL, "api_token": SANDBOX_TOKEN})
    invoicing = Invoicing(helper, live_app, sandbox)
    stamped = invoicing.draft()
    assert invoicing.stamp(stamped).status_code == 200
    return {"stamped": stamped, "draft": invoicing.draft(), "customer": invoicing.customer_id,
            "product": invoicing.product_ids[0]}


def sign_in(page):
    page.goto("/entrar")
    page.get_by_label("Usuario").fill("duena")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    expect(page.locator("#nav-panel")).to_be_attached()


def main_pages(data):
    return ["/", "/facturas/", "/facturas/nueva", f"/facturas/{data['draft']}",
            f"/facturas/{data['stamped']}", "/clientes/", "/clientes/nuevo",
            f"/clientes/{data['customer']}", "/productos/", "/productos/nuevo",
            "/bitacora/", "/configuracion/integraciones/alegra", "/configuracion/facturacion"]


def blocking_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results["violations"] if v["impact"] in BLOCKING]


def overflow(page):
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_main_pages_fit_the_screen_and_pass_axe(page, stocked, viewport):
    page.set_viewport_size(viewport)
    sign_in(page)
    problems = {}
    for url in main_pages(stocked):
        page.goto(url)
        htmx_idle(page)
        found = {}
        if overflow(page) > 0:
            found["overflow_px"] = overflow(page)
        violations = blocking_violations(page)
        if violations:
            found["axe"] = violations
        if found:
            problems[url] = found
    assert problems == {}
    assert page.js_errors == [], page.js_errors


def test_phone_menu_opens_from_its_button(page, stocked):
    page.set_viewport_size(PHONE)
    sign_in(page)
    clients = page.get_by_role("link", name="Clientes")
    expect(clients).to_be_hidden()
    page.get_by_role("button", name="Menú").click()
    expect(page.get_by_role("button", name="Menú")).to_have_attribute("aria-expanded", "true")
    clients.click()
    expect(page.get_by_role("heading", name="Clientes")).to_be_visible()


def test_back_after_a_filtered_search_restores_the_whole_page(page, stocked):
    sign_in(page)
    page.goto("/clientes/")
    page.locator("#q").press_sequentially("xochilt")
    page.wait_for_url("**/clientes/?q=xochilt**")
    htmx_idle(page)
    page.get_by_role("link", name="XOCHILT CASAS CHAVEZ").click()
    expect(page.get_by_role("heading", name="XOCHILT CASAS CHAVEZ")).to_be_visible()
    page.go_back()
    page.wait_for_url("**/clientes/?q=xochilt**")
    expect(page.get_by_role("navigation", name="Principal")).to_be_visible()
    expect(page.get_by_role("heading", name="Clientes")).to_be_visible()
    expect(page.locator("#q")).to_have_value("xochilt")
    expect(page.locator("#rows tbody tr")).to_have_count(1)
    # And Back once more, to the list before the search: also a whole page.
    page.go_back()
    page.wait_for_url("**/clientes/")
    expect(page.get_by_role("navigation", name="Principal")).to_be_visible()
    expect(page.locator("#q")).to_have_value("")


def test_enter_in_the_product_search_adds_the_highlighted_product(page, stocked, live_app):
    helper_product = {"name": "Soporte técnico", "clave_prod_serv": "81111811",
                      "clave_unidad": "E48", "unit_price": "500", "objeto_imp": "02",
                      "iva": "16"}
    helper = Browserless(live_app.test_client())
    helper.login()
    assert helper.post("/productos/nuevo", helper_product, htmx=True).status_code == 204
    sign_in(page)
    page.goto("/facturas/nueva")
    htmx_idle(page)
    search = page.locator("#producto_q")
    search.press_sequentially("o")  # both products match
    options = page.locator("#options-product [role=option]")
    expect(options).to_have_count(2)
    expect(search).to_have_attribute("aria-expanded", "true")
    search.press("ArrowDown")
    second = options.nth(1)
    expect(second).to_have_attribute("aria-selected", "true")
    expect(search).to_have_attribute("aria-activedescendant", second.get_attribute("id"))
    wanted = second.inner_text().split("·")[0].strip()
    search.press("Enter")
    expect(page.locator("#lines tbody tr")).to_have_count(1)
    expect(page.get_by_label("Descripción del concepto 1")).to_have_value(wanted)
    expect(search).to_be_focused()
    # Nothing was submitted: still a new, unsaved invoice.
    expect(page).to_have_url("/facturas/nueva")
    search.press("Escape")
    expect(page.locator("#options-product [role=option]")).to_have_count(0)
