"""In a real browser: first run, Alegra credentials, and the status updating in place."""
import pytest
from playwright.sync_api import expect

from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from e2e.conftest import create_owner

pytestmark = pytest.mark.e2e


def test_status_turns_conectado_without_reload(page, sandbox, same_page):
    create_owner(page)
    with same_page():
        page.get_by_label("Usuario de la API (correo)").fill(SANDBOX_EMAIL)
        page.get_by_label("Token de la API").fill(SANDBOX_TOKEN)
        page.get_by_role("button", name="Guardar").click()
        status = page.locator("#alegra-status")
        expect(status).to_contain_text("Conectado")
        expect(status).to_contain_text("ESCUELA KEMPER URGATE")
        expect(page.locator("#nav-alegra")).to_contain_text("conectado")
        expect(page.get_by_label("Token de la API")).to_have_value("")
    assert page.js_errors == []


def test_status_recovers_after_wrong_credentials_are_fixed(page, sandbox, same_page):
    create_owner(page)
    with same_page():
        page.get_by_label("Usuario de la API (correo)").fill(SANDBOX_EMAIL)
        page.get_by_label("Token de la API").fill("token-equivocado")
        page.get_by_role("button", name="Guardar").click()
        expect(page.locator("#alegra-status")).to_contain_text("Sin conexión")
        expect(page.locator("#alegra-status")).to_contain_text("HTTP 401")
        expect(page.locator("#nav-alegra")).to_contain_text("sin conexión")
        page.get_by_label("Token de la API").fill(SANDBOX_TOKEN)
        page.get_by_role("button", name="Guardar").click()
        expect(page.locator("#alegra-status")).to_contain_text("Conectado")
        expect(page.locator("#nav-alegra")).to_contain_text("conectado")


def test_invalid_email_shows_its_error_in_place(page, sandbox, same_page):
    create_owner(page)
    with same_page():
        page.get_by_label("Usuario de la API (correo)").fill("no-es-correo")
        page.get_by_label("Token de la API").fill("x")
        page.get_by_role("button", name="Guardar").click()
        expect(page.locator("#field-api_email .error")).to_contain_text("correo válido")
        expect(page.get_by_label("Usuario de la API (correo)")).to_have_value("no-es-correo")
