"""Login, first run, the guard on every URL, CSRF and cookie safety."""
import re
from datetime import timedelta

import pytest

from apunto_fact.auth import service
from apunto_fact.auth.models import User
from apunto_fact.extensions import db
from conftest import PASSWORD
from conftest import Browserless

PUBLIC = {"auth.login", "auth.first_run", "static"}


def _concrete_urls(app):
    """Every rule of the url_map with its arguments filled in."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_url_redirects_anonymous_users_to_first_run(app, client):
    urls = list(_concrete_urls(app))
    assert len(urls) >= 5
    for endpoint, method, url in urls:
        response = client.open(url, method=method)
        assert response.status_code == 302, (endpoint, method, url)
        assert response.headers["Location"].startswith("/primer-uso"), (endpoint, url)


def test_every_url_redirects_anonymous_users_to_login_once_an_owner_exists(app, client):
    Browserless(client).create_owner()
    client.post("/salir", data={})  # CSRF-less logout is refused...
    assert client.get("/").status_code == 200  # ...so the owner is still signed in
    fresh = app.test_client()
    for endpoint, method, url in _concrete_urls(app):
        response = fresh.open(url, method=method)
        assert response.status_code == 302, (endpoint, method, url)
        assert response.headers["Location"].startswith("/entrar"), (endpoint, url)


def test_htmx_request_of_anonymous_user_gets_hx_redirect_not_a_login_fragment(client):
    response = client.post("/configuracion/integraciones/alegra/estado",
                           headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/primer-uso"
    assert response.data == b""


def test_static_files_and_login_are_public(client):
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/primer-uso").status_code == 200


def test_first_run_creates_the_owner_and_then_closes(app, client):
    helper = Browserless(client)
    response = helper.create_owner("  Duena ")
    assert response.status_code == 303
    assert response.headers["Location"] == "/configuracion/integraciones/alegra"
    with app.app_context():
        owner = db.session.query(User).one()
        assert owner.username == "duena"
        assert PASSWORD not in owner.password_hash
    # A second visit cannot create another account.
    assert client.get("/primer-uso").headers["Location"] == "/entrar"


@pytest.mark.parametrize("data, field, message", [
    ({"username": "", "password": PASSWORD, "confirm": PASSWORD}, "username",
     "Escribe un nombre de usuario."),
    ({"username": "ana", "password": "corta", "confirm": "corta"}, "password",
     "entre 8 y 200 caracteres"),
    ({"username": "ana", "password": PASSWORD, "confirm": "otra-cosa-123"}, "confirm",
     "no coinciden"),
    ({"username": "a" * 2_000_000, "password": PASSWORD, "confirm": PASSWORD}, "username",
     "Máximo 80 caracteres."),
])
def test_first_run_form_errors_show_at_the_field_and_keep_input(client, data, field, message):
    helper = Browserless(client)
    helper.get("/primer-uso")
    response = helper.post("/primer-uso", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    block = html.split(f'id="field-{field}"')[1].split("</div>")[0]
    assert message in block
    if field != "username" and data["username"]:
        assert 'value="ana"' in html  # what the user typed stays
    assert data["password"] not in html  # passwords are never echoed


def test_login_logout_and_next(client):
    helper = Browserless(client)
    helper.create_owner()
    helper.post("/salir")
    assert client.get("/").status_code == 302
    helper.get("/entrar")
    response = helper.post("/entrar?next=/configuracion/integraciones/alegra",
                           {"username": "DUENA", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/configuracion/integraciones/alegra"


def test_login_next_cannot_leave_the_site(client):
    helper = Browserless(client)
    helper.create_owner()
    helper.post("/salir")
    helper.get("/entrar")
    response = helper.post("/entrar?next=//evil.example/x",
                           {"username": "duena", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_failed_logins_lock_the_user_for_a_while(app, client):
    helper = Browserless(client)
    helper.create_owner()
    helper.post("/salir")
    helper.get("/entrar")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = helper.post("/entrar", {"username": "duena", "password": "mala-contraseña"})
        assert response.status_code == 422
        assert service.REFUSED in response.get_data(as_text=True)
    # Even the right password is refused while locked, with the very same words.
    response = helper.post("/entrar", {"username": "duena", "password": PASSWORD})
    assert response.status_code == 422
    assert service.REFUSED in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.query(User).one()
        user.locked_until = user.locked_until - timedelta(seconds=app.config["LOGIN_LOCK_SECONDS"])
        db.session.commit()  # the lock time has passed
    assert helper.post("/entrar", {"username": "duena", "password": PASSWORD}).status_code == 303


def test_post_without_csrf_token_is_refused_even_for_htmx(user, client):
    response = client.post("/configuracion/integraciones/alegra",
                           data={"environment": "sandbox", "api_email": "a@b.mx",
                                 "api_token": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "El formulario expiró" in response.get_data(as_text=True)
    response = client.post("/configuracion/integraciones/alegra",
                           data={"environment": "sandbox", "api_email": "a@b.mx"})
    assert response.status_code == 400
    assert "<html" in response.get_data(as_text=True)  # a full Spanish page, not a traceback


def test_csrf_token_accepted_from_the_htmx_header(user, client):
    response = client.post("/configuracion/integraciones/alegra/estado",
                           headers={"HX-Request": "true", "X-CSRFToken": user.token})
    assert response.status_code == 200


def test_tampered_session_cookie_means_anonymous(user, client):
    cookie = client.get_cookie("session")
    client.set_cookie("session", cookie.value[:-3] + "abc")
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/entrar")


def test_cookies_and_security_headers(client):
    helper = Browserless(client)
    response = helper.create_owner()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page.get_data(as_text=True)  # no inline script anywhere


def test_cli_create_user(app, runner):
    result = runner.invoke(args=["create-user", "Contadora", "--password", "secreto-largo"])
    assert result.exit_code == 0, result.output
    assert "contadora" in result.output
    result = runner.invoke(args=["create-user", "contadora", "--password", "secreto-largo"])
    assert result.exit_code != 0 and "Ya existe" in result.output
    result = runner.invoke(args=["create-user", "otra", "--password", "corta"])
    assert result.exit_code != 0 and "entre 8 y 200" in result.output
    result = runner.invoke(args=["create-user", "pregunta"], input="secreto-largo\nsecreto-largo\n")
    assert result.exit_code == 0, result.output
