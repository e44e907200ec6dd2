"""Phone and desktop: no sideways scroll, no serious accessibility problem, history and keys."""
import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import Browserless
from conftest import Invoicing
from conftest import set_faults
from e2e.conftest import htmx_idle

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
BLOCKING = ("serious", "critical")


@pytest.fixture
def stocked(live_app, sandbox):
    """An owner, connected, with company, a customer, a product, a stamped invoice and a draft."""
    set_faults(sandbox, cancel_delay=0)
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
    search.press_sequentially("8")  # both SAT keys start with 8 (words match by prefix)
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


class Counted:
    """Every click, field filled, option chosen or key pressed is one action of the person."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, locator):
        self.count += 1
        locator.click()

    def fill(self, locator, text):
        self.count += 1
        locator.fill(text)

    def type(self, locator, text):
        self.count += 1
        locator.press_sequentially(text)

    def choose(self, locator, value):
        self.count += 1
        locator.select_option(value)

    def press(self, locator, key):
        self.count += 1
        locator.press(key)


def test_walkthrough_to_the_first_stamped_invoice_counts_its_actions(page, live_app, sandbox):
    act = Counted(page)
    page.goto("/")  # the browser opens by itself on the first run
    act.fill(page.get_by_label("Usuario"), "duena")
    act.fill(page.get_by_label("Contraseña", exact=True), PASSWORD)
    act.fill(page.get_by_label("Repite la contraseña"), PASSWORD)
    act.click(page.get_by_role("button", name="Crear cuenta"))
    act.click(page.get_by_role("button", name="Usar las credenciales de demostración"))
    expect(page.locator("#alegra-status")).to_contain_text("Conectado")
    act.click(page.get_by_role("link", name="Inicio"))
    act.click(page.get_by_role("link", name="Captura los datos fiscales de tu empresa"))
    act.click(page.get_by_role("link", name="Usar los datos de Alegra"))
    act.click(page.get_by_role("button", name="Guardar datos fiscales"))
    expect(page.get_by_text("Datos fiscales guardados.")).to_be_visible()
    act.click(page.get_by_role("link", name="Inicio"))
    act.click(page.get_by_role("link", name="Registra tu primer cliente"))
    # Each field is checked live and may refresh the ones after it: wait like a person would.
    act.fill(page.get_by_label("RFC"), "CACX7605101P8")
    htmx_idle(page)
    act.fill(page.get_by_label("Razón social o nombre"), "XOCHILT CASAS CHAVEZ")
    htmx_idle(page)
    act.choose(page.get_by_label("Régimen fiscal"), "612")
    htmx_idle(page)
    act.choose(page.get_by_label("Uso del CFDI"), "G03")
    htmx_idle(page)
    act.fill(page.get_by_label("Código postal del domicilio fiscal"), "10740")
    htmx_idle(page)
    act.choose(page.get_by_label("Método de pago"), "PUE")
    htmx_idle(page)
    act.choose(page.get_by_label("Forma de pago"), "03")
    act.click(page.get_by_role("button", name="Guardar cliente"))
    expect(page.get_by_text("Cliente «XOCHILT CASAS CHAVEZ» guardado.")).to_be_visible()
    act.click(page.get_by_role("link", name="Productos"))
    act.click(page.get_by_role("link", name="Nuevo producto"))
    act.fill(page.get_by_label("Nombre"), "Consultoría")
    act.type(page.get_by_label("Clave de producto o servicio (SAT)"), "consultoria")
    act.click(page.locator("[data-pick-value='80101500']"))
    act.type(page.get_by_label("Clave de unidad (SAT)"), "E48")
    act.click(page.locator("[data-pick-value='E48']"))
    act.fill(page.get_by_label("Precio unitario (sin impuestos)"), "1000")
    act.click(page.get_by_role("button", name="Guardar producto"))
    expect(page.get_by_text("Producto «Consultoría» guardado.")).to_be_visible()
    act.click(page.get_by_role("link", name="Inicio"))
    act.click(page.get_by_role("link", name="Timbra tu primera factura"))
    htmx_idle(page)
    act.type(page.locator("#cliente_q"), "xoch")
    expect(page.locator("#options-customer [role=option]")).to_have_count(1)
    act.press(page.locator("#cliente_q"), "Enter")
    expect(page.locator("#customer-box")).to_contain_text("CACX7605101P8")
    htmx_idle(page)
    act.type(page.locator("#producto_q"), "consul")
    expect(page.locator("#options-product [role=option]")).to_have_count(1)
    act.press(page.locator("#producto_q"), "Enter")
    expect(page.locator("#lines tbody tr")).to_have_count(1)
    htmx_idle(page)
    act.click(page.get_by_role("button", name="Guardar borrador"))
    expect(page.get_by_text("Borrador guardado.")).to_be_visible()
    act.click(page.get_by_role("button", name="Timbrar factura"))
    expect(page.locator("#invoice-status")).to_have_text("Timbrada", timeout=15_000)
    print(f"\nAcciones hasta la primera factura timbrada: {act.count}")
    assert act.count < 40  # 40 before: issue 11
    assert page.js_errors == [], page.js_errors


def test_a_stale_tab_shows_why_and_the_invoice_as_it_is_now(page, stocked):
    sign_in(page)
    url = f"/facturas/{stocked['draft']}"
    page.goto(url)
    other = page.context.new_page()
    other.goto(url)
    other.get_by_role("button", name="Timbrar factura").click()
    expect(other.locator("#invoice-status")).to_have_text("Timbrada", timeout=15_000)
    other.close()
    # The first tab still shows the draft; its Timbrar is refused with the current state.
    page.get_by_role("button", name="Timbrar factura").click()
    expect(page.locator("#invoice-status")).to_have_text("Timbrada")
    expect(page.get_by_role("alert")).to_contain_text("ya no es un borrador")
    expect(page.get_by_role("button", name="Timbrar factura")).to_have_count(0)
    expect(page.locator("#notice")).to_be_hidden()
    assert [e for e in page.js_errors if "409" not in e] == []
