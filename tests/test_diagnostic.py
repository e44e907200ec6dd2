"""«Revisar mi cuenta de Alegra»: read-only findings on bare, half and fully set-up accounts."""
import pytest

import conftest
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import sandbox_calls
from conftest import sandbox_control
from conftest import set_faults

PRODUCTS = [
    dict(conftest.PRODUCT, name="Frontera", iva="8"),
    dict(conftest.PRODUCT, name="Bebida", iva="16", ieps="8", clave_unidad="H87",
         clave_prod_serv="50202300"),
    dict(conftest.PRODUCT, name="Honorarios", iva="16", ret_isr="10", ret_iva="10.6667"),
    dict(conftest.PRODUCT, name="Resico", iva="16", ret_isr="1.25"),
    dict(conftest.PRODUCT, name="Libro", iva="exento", clave_unidad="H87",
         clave_prod_serv="55101500"),
]


@pytest.fixture
def profile():
    return "full"


@pytest.fixture
def own_sandbox(tmp_path, profile):
    with conftest.private_sandbox(tmp_path, profile=profile) as server:
        yield server


@pytest.fixture
def sandbox(own_sandbox):
    return own_sandbox


@pytest.fixture
def app_config(app_config, own_sandbox):
    return {**app_config, "ALEGRA_SANDBOX_URL": own_sandbox.url,
            "ALEGRA_PRODUCTION_URL": own_sandbox.url}


@pytest.fixture
def account(invoicing, sandbox):
    """Company, a catalog using every tax kind, and a draft in USD; counters reset."""
    for product in PRODUCTS:
        invoicing.add_product(product)
    invoicing.draft(currency="USD", exchange_rate="17.50")
    requests_reset(sandbox)
    return invoicing


def requests_reset(sandbox):
    sandbox_control(sandbox, "stats/reset")


def review(invoicing):
    response = invoicing.user.post("/configuracion/integraciones/alegra/diagnostico", htmx=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def only_reads(sandbox):
    calls = sandbox_calls(sandbox)["calls"]
    assert calls and all(key.startswith("GET ") for key in calls), calls
    return calls


@pytest.mark.parametrize("profile", ["full"])
def test_a_fully_configured_account_is_ready(account, sandbox):
    html = review(account)
    assert "Todo listo para timbrar" in html and "Por arreglar" not in html
    only_reads(sandbox)


@pytest.mark.parametrize("profile", ["half"])
def test_a_half_configured_account_lists_each_missing_piece_and_writes_nothing(account,
                                                                               sandbox):
    html = review(account)
    expected = [
        "Tu empresa en Alegra no tiene régimen fiscal",
        "Tu empresa en Alegra no tiene código postal",
        "no tiene una numeración electrónica de facturas activa",
        "IVA 8 % (frontera): tu catálogo lo usa y no existe en Alegra",
        "IEPS 8 %: tu catálogo lo usa y no existe en Alegra",
        "IVA exento: tu catálogo lo usa y no existe en Alegra",
        "Retención IVA 10.6667 % (dos terceras partes): tu catálogo lo usa y no existe",
        "Retención ISR RESICO 1.25 %: tu catálogo lo usa y no existe en Alegra",
        "USD está activa en Alegra pero sin tipo de cambio",
    ]
    for text in expected:
        assert text in html, text
    assert html.count("Qué hacer:") == len(expected)
    assert "Alegra → Configuración → Numeraciones" in html
    assert "Todo listo para timbrar" not in html
    assert "El RFC coincide" in html and "IVA 16 %: existe en Alegra" in html
    only_reads(sandbox)


@pytest.mark.parametrize("profile", ["bare"])
def test_a_bare_account_is_told_to_fill_in_the_company(account, sandbox):
    html = review(account)
    assert "Tu empresa en Alegra no tiene RFC; aquí es «EKU9003173C9»" in html
    assert "IVA 16 %: tu catálogo lo usa y no existe en Alegra" in html
    assert "USD: " not in html and "Facturas en USD y esa moneda no está activa" in html
    only_reads(sandbox)


def test_a_plan_without_api_is_reported(account, sandbox):
    set_faults(sandbox, rules=[{"method": "GET", "path": "/company", "status": 402,
                                "body": {"code": 402, "message": "Payment Required"}}])
    html = review(account)
    assert "Tu plan de Alegra no incluye acceso a la API" in html
    assert "plan PLUS" in html


def to_production(invoicing):
    response = invoicing.user.post("/configuracion/integraciones/alegra", {
        "environment": "production", "api_email": SANDBOX_EMAIL, "api_token": SANDBOX_TOKEN})
    assert response.status_code == 303
    invoicing.user.post("/configuracion/integraciones/alegra/estado", htmx=True)
    requests_reset(invoicing.sandbox)


@pytest.mark.parametrize("profile", ["half"])
def test_the_first_production_stamp_is_blocked_by_a_half_configured_account(account,
                                                                              sandbox):
    to_production(account)
    invoice_id = account.draft()
    response = account.stamp(invoice_id)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Antes del primer timbrado revisamos tu cuenta de Alegra" in html
    assert "numeración electrónica" in html
    assert account.invoice(invoice_id).status == "draft"
    only_reads(sandbox)


@pytest.mark.parametrize("profile", ["full"])
def test_the_first_production_stamp_runs_the_review_once(account, sandbox):
    to_production(account)
    first = account.draft()
    account.stamp(first)
    assert account.invoice(first).status == "stamped"
    assert sandbox_calls(sandbox)["calls"].get("GET /company") == 1
    requests_reset(sandbox)
    second = account.draft()
    account.stamp(second)
    assert account.invoice(second).status == "stamped"
    assert "GET /company" not in sandbox_calls(sandbox)["calls"]


def test_the_sandbox_environment_is_never_held_back(account, sandbox):
    set_faults(sandbox, rules=[{"method": "GET", "path": "/number-templates", "status": 500,
                                "times": None}])
    invoice_id = account.draft()
    account.stamp(invoice_id)
    assert "GET /company" not in sandbox_calls(sandbox)["calls"]
