"""The whole product in a real browser, on a fresh instance and the sandbox."""
import xml.etree.ElementTree as ET

import pytest
from playwright.sync_api import expect

from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import sandbox_control
from e2e.conftest import create_owner
from e2e.conftest import htmx_idle

pytestmark = pytest.mark.e2e
TFD = "{http://www.sat.gob.mx/TimbreFiscalDigital}TimbreFiscalDigital"


def first_run_and_connect(page, same_page):
    create_owner(page)
    with same_page():
        page.get_by_label("Usuario de la API (correo)").fill(SANDBOX_EMAIL)
        page.get_by_label("Token de la API").fill(SANDBOX_TOKEN)
        page.get_by_role("button", name="Guardar").click()
        expect(page.locator("#alegra-status")).to_contain_text("Conectado")


def fiscal_data(page, same_page):
    page.get_by_role("link", name="Datos fiscales de tu empresa").click()
    with same_page():
        page.get_by_label("RFC").fill("EKU9003173C9")
        name = page.get_by_label("Razón social o nombre")
        name.fill("ESCUELA KEMPER URGATE S.A. DE C.V.")
        name.press("Tab")
        expect(page.locator("#feedback-name .warning")).to_contain_text("régimen de capital")
        page.get_by_role("button", name="Quitar «S.A. DE C.V.»").click()
        expect(name).to_have_value("ESCUELA KEMPER URGATE")
        page.get_by_label("Régimen fiscal").select_option("601")
        page.get_by_label("Código postal (lugar de expedición)").fill("42501")
        page.get_by_role("button", name="Guardar datos fiscales").click()
        expect(page.get_by_text("Datos fiscales guardados.")).to_be_visible()


def customer(page, same_page, name="XOCHILT CASAS CHAVEZ", metodo="PUE"):
    page.goto("/clientes/nuevo")
    with same_page():
        page.get_by_label("RFC").fill("CACX7605101")
        expect(page.locator("#feedback-rfc .error")).to_contain_text("12 caracteres")
        page.get_by_label("RFC").fill("CACX7605101P8")
        expect(page.locator("#feedback-rfc .error")).to_have_count(0)
        page.get_by_label("Razón social o nombre").fill(name)
        page.get_by_label("Régimen fiscal").select_option("612")
        page.get_by_label("Uso del CFDI").select_option("G03")
        page.get_by_label("Código postal del domicilio fiscal").fill("10740")
        page.get_by_label("Método de pago").select_option("PPD")
        expect(page.get_by_label("Forma de pago")).to_have_value("99")
        expect(page.locator("#forma_pago option")).to_have_count(1)
        if metodo == "PUE":
            page.get_by_label("Método de pago").select_option("PUE")
            page.get_by_label("Forma de pago").select_option("03")
    page.get_by_role("button", name="Guardar cliente").click()
    expect(page.get_by_text(f"Cliente «{name}» guardado.")).to_be_visible()


def product(page, name, price, search="consultoria", key="80101500"):
    page.goto("/productos/nuevo")
    page.get_by_label("Nombre").fill(name)
    page.get_by_label("Clave de producto o servicio (SAT)").press_sequentially(search)
    page.locator(f"[data-pick-value='{key}']").click()
    expect(page.get_by_label("Clave de producto o servicio (SAT)")).to_have_value(key)
    page.get_by_label("Clave de unidad (SAT)").press_sequentially("E48")
    page.locator("[data-pick-value='E48']").click()
    page.get_by_label("Precio unitario (sin impuestos)").fill(price)
    page.get_by_role("button", name="Guardar producto").click()
    expect(page.get_by_text(f"Producto «{name}» guardado.")).to_be_visible()


def invoice_draft(page, same_page, customer_query="xochilt"):
    page.goto("/facturas/nueva")
    with same_page():
        page.locator("#cliente_q").press_sequentially(customer_query)
        page.locator("[data-pick-target='customer_id']").first.click()
        expect(page.locator("#customer-box")).to_contain_text("CACX7605101P8")
        for query in ("Consultor", "Soporte"):
            page.locator("#producto_q").fill("")
            page.locator("#producto_q").press_sequentially(query)
            page.get_by_role("option", name=query).first.click()
            htmx_idle(page)
        expect(page.locator("#lines tbody tr")).to_have_count(2)
        expect(page.locator("#total-total")).to_contain_text("$1,740.00")  # (1000+500)×1.16
        htmx_idle(page)
        page.get_by_label("Cantidad del concepto 1").fill("3")
        expect(page.locator("#line-amount-0")).to_have_text("$3,000.00")
        expect(page.locator("#total-total")).to_contain_text("$4,060.00")  # 3500 × 1.16
    page.get_by_role("button", name="Guardar borrador").click()
    expect(page.get_by_text("Borrador guardado.")).to_be_visible()


def ready_to_stamp(page, same_page, customer_name="XOCHILT CASAS CHAVEZ"):
    """Fresh instance to a saved two-line draft, the way a new owner gets there."""
    first_run_and_connect(page, same_page)
    fiscal_data(page, same_page)
    customer(page, same_page, name=customer_name)
    product(page, "Consultoría", "1000")
    product(page, "Soporte técnico", "500", search="soporte tecnico", key="81111811")
    invoice_draft(page, same_page)


def test_the_whole_product(page, sandbox, same_page, tmp_path):
    ready_to_stamp(page, same_page)
    with same_page():
        page.get_by_role("button", name="Timbrar factura").click()
        expect(page.locator("#invoice-status")).to_have_text("Timbrada")
        expect(page.locator("#success")).to_contain_text("timbrada")
        uuid = page.locator("#uuid").inner_text().strip()
    assert len(uuid) == 36
    with page.expect_download() as xml_download:
        page.locator("#download-xml").click()
    xml_path = tmp_path / xml_download.value.suggested_filename
    xml_download.value.save_as(xml_path)
    assert xml_download.value.suggested_filename.endswith(f"_{uuid}.xml")
    assert ET.parse(xml_path).getroot().find(f".//{TFD}").get("UUID") == uuid
    with page.expect_download() as pdf_download:
        page.locator("#download-pdf").click()
    pdf_path = tmp_path / pdf_download.value.suggested_filename
    pdf_download.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF-") and uuid.encode() in pdf_path.read_bytes()
    sandbox_control(sandbox, "faults", {"cancel_delay": 0})
    with same_page():
        page.get_by_text("Cancelar esta factura ante el SAT").click()
        page.get_by_label("Motivo (SAT)").select_option("01")
        expect(page.get_by_label("Factura que la sustituye")).to_be_visible()
        page.get_by_label("Motivo (SAT)").select_option("02")
        expect(page.get_by_label("Factura que la sustituye")).to_be_hidden()
        page.get_by_role("button", name="Cancelar factura").click()
        expect(page.locator("#invoice-status")).to_have_text("Cancelada", timeout=15_000)
        expect(page.locator("#success")).to_contain_text("cancelada ante el SAT")
    assert page.js_errors == [], page.js_errors


def test_sat_rejection_shows_alegras_message_next_to_the_customer(page, sandbox, same_page):
    ready_to_stamp(page, same_page, customer_name="XOCHILT CASAS")  # SAT: …CASAS CHAVEZ
    with same_page():
        page.get_by_role("button", name="Timbrar factura").click()
        problem = page.locator("#problem")
        expect(problem).to_contain_text("Error al timbrar: CFDI40145")
        expect(problem).to_contain_text("exactamente el de su Constancia de Situación Fiscal")
        expect(problem.get_by_role("link", name="Corregir los datos de XOCHILT CASAS")).to_be_visible()
        expect(page.locator("#invoice-status")).to_have_text("Rechazada")


def test_double_click_on_timbrar_makes_one_alegra_invoice(page, sandbox, same_page):
    ready_to_stamp(page, same_page)
    store = sandbox.app.extensions["sandbox"]["store"]
    before = store.count("invoices")
    sandbox_control(sandbox, "faults", {"latency": 0.5})
    page.get_by_role("button", name="Timbrar factura").dblclick()
    expect(page.locator("#invoice-status")).to_have_text("Timbrada", timeout=15_000)
    assert store.count("invoices") == before + 1
