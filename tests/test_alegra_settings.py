"""Configuración → Integraciones → Alegra: credentials, encryption and the live status."""
import logging

import pytest

from apunto_fact.extensions import db
from apunto_fact.settings.models import AlegraConnection
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import instance_bytes
from conftest import set_faults

URL = "/configuracion/integraciones/alegra"
STATUS = URL + "/estado"


def save(user, htmx=True, **fields):
    data = {"environment": "sandbox", "api_email": SANDBOX_EMAIL, "api_token": SANDBOX_TOKEN,
            **fields}
    return user.post(URL, data, htmx=htmx)


def field_block(html, field):
    return html.split(f'id="field-{field}"')[1].split("</div>")[0]


def test_page_shows_form_and_loads_status_by_itself(user):
    html = user.get(URL).get_data(as_text=True)
    assert "Sandbox local (pruebas)" in html and "Alegra (producción)" in html
    assert 'type="password"' in html
    assert "Aún no has guardado tus credenciales" in html


def test_save_over_htmx_returns_the_panel_that_checks_status_without_reload(user):
    response = save(user)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html  # a fragment, swapped in place
    assert "Credenciales guardadas." in html
    assert 'hx-trigger="load"' in html and "/estado" in html


def test_status_reads_conectado_with_company_name_and_rfc(connected):
    response = connected.post(STATUS, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    assert "Conectado" in html and "ESCUELA KEMPER URGATE" in html and "EKU9003173C9" in html
    # The navigation indicator is refreshed out of band in the same response.
    assert 'id="nav-alegra"' in html and 'hx-swap-oob="true"' in html and "conectado" in html
    # And it shows on every page afterwards.
    assert "Alegra: conectado" in connected.get("/").get_data(as_text=True)


def test_status_without_htmx_redirects_to_the_page(connected):
    response = connected.post(STATUS)
    assert response.status_code == 303
    assert response.headers["Location"] == URL


def test_demo_button_fills_sandbox_credentials(user, sandbox):
    response = user.post(URL + "/demo", htmx=True)
    assert response.status_code == 200
    html = user.post(STATUS, htmx=True).get_data(as_text=True)
    assert "Conectado" in html


@pytest.mark.parametrize("email", ["", "no-es-correo", "a@", "x" * 250 + "@b.mx"])
def test_invalid_email_is_an_error_at_the_field_and_nothing_is_saved(app, user, email):
    response = save(user, api_email=email)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_block(html, "api_email").count('class="error"') >= 1
    with app.app_context():
        conn = db.session.get(AlegraConnection, 1)
        assert conn is None or conn.token_encrypted is None


def test_token_required_on_first_save(user):
    response = save(user, api_token="")
    assert response.status_code == 422
    assert "Escribe el token" in field_block(response.get_data(as_text=True), "api_token")


def test_empty_token_keeps_the_stored_one_and_page_shows_its_ending(app, connected):
    response = save(connected, api_token="", api_email="otro@empresa.mx")
    assert response.status_code == 200
    html = connected.get(URL).get_data(as_text=True)
    assert "termina en …" + SANDBOX_TOKEN[-4:] in html
    assert 'value="otro@empresa.mx"' in html
    with app.app_context():
        from apunto_fact.settings.alegra import make_client
        client = make_client()
        assert client.session.auth == ("otro@empresa.mx", SANDBOX_TOKEN)


def test_switching_environment_requires_a_new_token(connected):
    response = save(connected, environment="production", api_token="")
    assert response.status_code == 422
    assert "Escribe el token" in field_block(response.get_data(as_text=True), "api_token")


def test_production_banner_disappears_and_sandbox_banner_shows(app, connected):
    assert "no son reales" in connected.get("/").get_data(as_text=True)
    save(connected, environment="production", api_token="prod-token-123")
    assert "no son reales" not in connected.get("/").get_data(as_text=True)


def test_huge_and_non_utf8_input_never_breaks_the_page(app, user):
    response = save(user, api_email="a" * 2_000_000)
    assert response.status_code == 422
    response = user.client.post(URL, data=b"environment=sandbox&api_email=%FF%FE@x.mx&csrf_token="
                                + user.token.encode(),
                                content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
    response = save(user, environment="marte")
    assert response.status_code == 422
    assert "Not a valid choice" not in response.get_data(as_text=True)


def test_token_never_appears_in_responses_logs_or_stored_bytes(app, user, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = [save(user).get_data(), save(user, htmx=False).get_data()]
    for url in (URL, "/"):
        bodies.append(user.get(url).get_data())
    bodies.append(user.post(STATUS, htmx=True).get_data())
    secret = SANDBOX_TOKEN.encode()
    assert all(secret not in body for body in bodies)
    assert SANDBOX_TOKEN not in caplog.text
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    stored = instance_bytes(app)
    assert SANDBOX_EMAIL.encode() in stored  # proves the grep sees the database content
    assert secret not in stored


@pytest.mark.parametrize("status, body, expected, hint", [
    (401, {"code": 401, "message": "Credenciales inválidas"}, "Credenciales inválidas",
     "Revisa el correo y el token"),
    (402, {"code": 402, "message": "Tu plan no incluye API"}, "Tu plan no incluye API",
     "plan PLUS"),
    (403, {"error": {"code": 403, "message": "Sin permiso"}}, "Sin permiso", "no tiene permiso"),
    (500, {"error": "Falla interna"}, "Falla interna", "falla temporal"),
    (503, {}, "HTTP 503", "falla temporal"),
])
def test_status_shows_alegras_own_message_status_and_what_to_do(connected, sandbox, status,
                                                                body, expected, hint):
    set_faults(sandbox, rules=[{"path": "/company", "status": status, "body": body}])
    html = connected.post(STATUS, htmx=True).get_data(as_text=True)
    assert "Sin conexión" in html and f"HTTP {status}" in html
    assert expected in html and hint in html
    assert "Alegra: sin conexión" in html  # nav indicator, out of band


def test_status_shows_rate_limit_reset_time(connected, sandbox):
    set_faults(sandbox, rate_limit=0)
    html = connected.post(STATUS, htmx=True).get_data(as_text=True)
    assert "HTTP 429" in html and "Too Many request" in html
    assert "se restablece en" in html


def test_status_reports_timeout_plainly(app, connected, sandbox):
    set_faults(sandbox, latency=app.config["ALEGRA_STATUS_READ_TIMEOUT"] + 1)
    html = connected.post(STATUS, htmx=True).get_data(as_text=True)
    assert "no respondió en 2 segundos" in html


def test_status_reports_unreachable_sandbox(app, connected):
    app.config["ALEGRA_SANDBOX_URL"] = "http://127.0.0.1:9/api/v1"
    html = connected.post(STATUS, htmx=True).get_data(as_text=True)
    assert "No se pudo conectar con 127.0.0.1:9" in html
    assert "make run" in html


def test_status_recovers_after_credentials_are_fixed(connected):
    save(connected, api_token="token-equivocado")
    assert "Sin conexión" in connected.post(STATUS, htmx=True).get_data(as_text=True)
    save(connected)
    assert "Conectado" in connected.post(STATUS, htmx=True).get_data(as_text=True)


@pytest.mark.parametrize("spent_by", ["our budget", "alegra"])
def test_checking_while_the_minute_is_spent_leaves_the_connection_as_it_was(
        app, invoicing, sandbox, spent_by):
    """«Probar conexión» pressed while a lot spends Alegra's minute: nothing is known about the
    credentials, so the connection stays verified and Timbrar keeps working (ATTACK3 Q10)."""
    from apunto_fact.invoices import readiness
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.settings import alegra
    if spent_by == "alegra":
        set_faults(sandbox, rate_limit=0)
    else:
        with app.test_request_context():
            alegra.make_client().budget.observe(remaining=0, reset_seconds=50)
    html = invoicing.user.post(STATUS, htmx=True).get_data(as_text=True)
    assert "No se pudo comprobar ahora" in html and "La conexión sigue como estaba" in html
    assert "Conectado" in html and "Sin conexión" not in html
    invoice_id = invoicing.draft()
    with app.test_request_context():
        assert alegra.connection().status == "connected"
        assert readiness.problems(db.session.get(Invoice, invoice_id)) == []
