"""In a real browser: fiscal data, customers and products react field by field, no reload."""
import pytest
from playwright.sync_api import expect

from e2e.conftest import create_owner

pytestmark = pytest.mark.e2e


@pytest.fixture
def signed_in(page):
    create_owner(page)
    return page


def test_company_suffix_warning_and_one_click_fix(signed_in, same_page):
    page = signed_in
    page.goto("/configuracion/facturacion")
    with same_page():
        page.get_by_label("RFC").fill("EKU9003173C9")
        page.get_by_label("Razón social o nombre").fill("ESCUELA KEMPER URGATE, S.A. DE C.V.")
        page.get_by_label("Razón social o nombre").press("Tab")
        expect(page.locator("#feedback-name .warning")).to_contain_text("régimen de capital")
        page.get_by_role("button", name="Quitar «S.A. DE C.V.»").click()
        expect(page.get_by_label("Razón social o nombre")).to_have_value("ESCUELA KEMPER URGATE")
        expect(page.locator("#feedback-name .warning")).to_have_count(0)
        page.get_by_label("Régimen fiscal").select_option("601")
        page.get_by_label("Código postal (lugar de expedición)").fill("42501")
        page.get_by_role("button", name="Guardar datos fiscales").click()
        expect(page.get_by_text("Datos fiscales guardados.")).to_be_visible()
    assert page.js_errors == [], page.js_errors


def test_customer_invalid_rfc_inline_and_ppd_locks_99(signed_in, same_page):
    page = signed_in
    page.goto("/clientes/nuevo")
    with same_page():
        page.get_by_label("RFC").fill("EKU900230AB1")
        expect(page.locator("#feedback-rfc .error")).to_contain_text("no existe en el calendario")
        page.get_by_label("RFC").fill("CACX7605101P8")
        expect(page.locator("#feedback-rfc .error")).to_have_count(0)
        # Régimen options followed the persona física.
        expect(page.locator("#regimen option[value='601']")).to_have_count(0)
        page.get_by_label("Régimen fiscal").select_option("612")
        expect(page.locator("#uso_cfdi option[value='D01']")).to_have_count(1)
        page.get_by_label("Método de pago").select_option("PPD")
        expect(page.get_by_label("Forma de pago")).to_have_value("99")
        expect(page.locator("#forma_pago option")).to_have_count(1)
        page.get_by_label("Método de pago").select_option("PUE")
        expect(page.locator("#forma_pago option[value='99']")).to_have_count(0)
    assert page.js_errors == [], page.js_errors


def test_product_found_by_typing_consultoria(signed_in, same_page):
    page = signed_in
    page.goto("/productos/nuevo")
    with same_page():
        page.get_by_label("Nombre").fill("Consultoría mensual")
        page.get_by_label("Clave de producto o servicio (SAT)").press_sequentially("consultoria")
        option = page.get_by_role("option", name="80101500 — Servicios de consultoría de negocios")
        option.click()
        expect(page.get_by_label("Clave de producto o servicio (SAT)")).to_have_value("80101500")
        expect(page.locator("#feedback-clave_prod_serv")).to_contain_text(
            "Servicios de consultoría de negocios")
        page.get_by_label("Clave de unidad (SAT)").press_sequentially("E48")
        page.get_by_role("option", name="E48 — Unidad de servicio").click()
        page.get_by_label("Precio unitario (sin impuestos)").fill("1500")
    page.get_by_role("button", name="Guardar producto").click()
    expect(page.get_by_text("Producto «Consultoría mensual» guardado.")).to_be_visible()
    expect(page.locator("#rows")).to_contain_text("80101500")
    assert page.js_errors == [], page.js_errors


def test_a_choice_made_while_a_check_runs_is_kept(signed_in):
    from e2e.conftest import htmx_idle
    page = signed_in
    page.goto("/clientes/nuevo")
    page.get_by_label("RFC").fill("CACX7605101P8")
    page.get_by_label("RFC").press("Tab")
    htmx_idle(page)
    # Change the régimen and, before its check can answer, choose the uso: the answer
    # (built from the values sent earlier) must not undo the newer choice.
    page.evaluate("""() => {
        const regimen = document.getElementById('regimen');
        regimen.value = '612';
        regimen.dispatchEvent(new Event('change', {bubbles: true}));
        const uso = document.getElementById('uso_cfdi');
        uso.value = 'G03';
        uso.dispatchEvent(new Event('change', {bubbles: true}));
    }""")
    htmx_idle(page)
    expect(page.get_by_label("Uso del CFDI")).to_have_value("G03")
    expect(page.locator("#uso_cfdi option[value='D01']")).to_have_count(1)  # options did follow
    # A value the server sets on purpose still wins: PPD forces forma 99.
    page.get_by_label("Forma de pago").select_option("03")
    page.evaluate("""() => {
        const metodo = document.getElementById('metodo_pago');
        metodo.value = 'PPD';
        metodo.dispatchEvent(new Event('change', {bubbles: true}));
    }""")
    htmx_idle(page)
    expect(page.get_by_label("Forma de pago")).to_have_value("99")
