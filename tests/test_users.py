"""Roles, user administration, sessions that end, and authentication under concurrency."""
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.serving import make_server

from apunto_fact.auth import policy
from apunto_fact.auth import service
from apunto_fact.auth.models import User
from apunto_fact.auth.models import UserAction
from apunto_fact.extensions import db
from conftest import PASSWORD
from conftest import Browserless
from conftest import csrf_from

OTHER_PASSWORD = "libreta-verde-1987"


def _urls(app):
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)
        url = url.replace("/1", "/xml") if rule.endpoint == "invoices.download" else url
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def _add_user(app, username, role, password=OTHER_PASSWORD):
    with app.app_context():
        service.create_user(username, password, role)


def _signed_in(app, username, password=OTHER_PASSWORD):
    helper = Browserless(app.test_client())
    assert helper.login(username, password).status_code == 303
    helper.get("/")
    return helper


@pytest.mark.parametrize("role", ["capturista", "contador"])
def test_every_route_outside_the_role_answers_403_in_spanish(app, user, role):
    _add_user(app, "persona", role)
    person = _signed_in(app, "persona")
    denied = [(e, m, u) for e, m, u in _urls(app)
              if e not in {"static", "auth.login", "auth.first_run"}
              and not policy.allowed(role, e)]
    assert denied  # each role is refused something
    for endpoint, method, url in denied:
        response = person.client.open(url, method=method,
                                       data={"csrf_token": person.token})
        assert response.status_code == 403, (endpoint, method, url)
        html = response.get_data(as_text=True)
        assert "no permite esta acción" in html and "<html" in html, endpoint
        panel = person.client.open(url, method=method, data={"csrf_token": person.token},
                                   headers={"HX-Request": "true"})
        assert panel.status_code == 403
        assert panel.get_data(as_text=True).startswith('<div class="error-panel"'), endpoint


def test_capturista_cannot_stamp_cancel_or_open_alegra_and_users(app, user):
    _add_user(app, "clara", "capturista")
    clara = _signed_in(app, "clara")
    for method, url in (("POST", "/facturas/1/timbrar"), ("POST", "/facturas/1/cancelar"),
                        ("GET", "/configuracion/integraciones/alegra"),
                        ("GET", "/configuracion/usuarios")):
        assert clara.client.open(url, method=method,
                                 data={"csrf_token": clara.token}).status_code == 403, url
    # ...but works with customers, products and drafts.
    for url in ("/clientes/", "/productos/", "/facturas/", "/facturas/nueva"):
        assert clara.get(url).status_code == 200, url
    assert "Configuración" in clara.get("/").get_data(as_text=True)
    assert clara.get("/configuracion/").headers["Location"] == "/mi-cuenta/contrasena"


def test_contador_opens_company_data_but_not_credentials_or_users(app, user):
    _add_user(app, "conta", "contador")
    conta = _signed_in(app, "conta")
    assert conta.get("/configuracion/facturacion").status_code == 200
    assert conta.get("/configuracion/integraciones/alegra").status_code == 403
    assert conta.get("/configuracion/usuarios").status_code == 403
    assert conta.get("/configuracion/").headers["Location"] == "/configuracion/facturacion"


def test_unlisted_endpoint_is_for_owners_only(app):
    assert policy.permission_for("nuevo.endpoint") is None
    assert policy.allowed("dueno", "nuevo.endpoint")
    assert not policy.allowed("contador", "nuevo.endpoint")
    assert not policy.allowed("capturista", "nuevo.endpoint")


def test_owner_creates_disables_and_resets_users(app, user):
    page = user.get("/configuracion/usuarios")
    assert page.status_code == 200
    response = user.post("/configuracion/usuarios", {
        "username": "Conta", "role": "contador", "password": OTHER_PASSWORD,
        "confirm": OTHER_PASSWORD})
    assert response.status_code == 303
    with app.app_context():
        conta = db.session.query(User).filter_by(username="conta").one()
        assert conta.role == "contador"
        conta_id = conta.id
    session = _signed_in(app, "conta")
    assert session.get("/facturas/").status_code == 200
    # Disabling ends the open session on its next request.
    assert user.post(f"/configuracion/usuarios/{conta_id}/activo").status_code == 303
    response = session.get("/facturas/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/entrar")
    assert session.login("conta", OTHER_PASSWORD).status_code == 422
    # Enable again, reset the password: the old one no longer works.
    user.post(f"/configuracion/usuarios/{conta_id}/activo")
    assert user.post(f"/configuracion/usuarios/{conta_id}/contrasena", {
        "password": "nube-azul-montaña", "confirm": "nube-azul-montaña"}).status_code == 303
    assert Browserless(app.test_client()).login("conta", OTHER_PASSWORD).status_code == 422
    assert Browserless(app.test_client()).login("conta", "nube-azul-montaña").status_code == 303
    with app.app_context():
        actions = [a.action for a in db.session.query(UserAction).order_by(UserAction.id)]
    assert actions == ["Crear usuario", "Activar o desactivar usuario",
                       "Activar o desactivar usuario", "Restablecer contraseña"]


def test_owner_cannot_disable_self_or_demote_the_last_owner(app, user):
    with app.app_context():
        me = db.session.query(User).one().id
    user.post(f"/configuracion/usuarios/{me}/activo")
    user.post(f"/configuracion/usuarios/{me}/rol", {"role": "capturista"})
    with app.app_context():
        owner = db.session.get(User, me)
        assert (owner.active, owner.role) == (True, "dueno")


@pytest.mark.parametrize("password", ["12345678", "password", "qwertyuiop", "contrasena", "mexico123",
                                      "corta"])
def test_common_and_short_passwords_are_refused(app, user, password):
    response = user.post("/configuracion/usuarios", {
        "username": "ana", "role": "capturista", "password": password, "confirm": password})
    assert response.status_code == 422
    assert "muy común" in response.get_data(as_text=True) or \
        "entre 8 y 200" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User).filter_by(username="ana").count() == 0


def test_cli_create_user_with_a_role(app, runner):
    assert runner.invoke(args=["create-user", "primera", "--password", OTHER_PASSWORD,
                               "--role", "capturista"]).exit_code == 0
    result = runner.invoke(args=["create-user", "clerk", "--password", OTHER_PASSWORD,
                                 "--role", "capturista"])
    assert result.exit_code == 0 and "Capturista" in result.output
    with app.app_context():
        roles = dict(db.session.query(User.username, User.role))
    assert roles == {"primera": "dueno", "clerk": "capturista"}  # the first is always owner
    result = runner.invoke(args=["create-user", "x", "--password", "password"])
    assert result.exit_code != 0 and "muy común" in result.output


def test_logout_ends_a_copied_session_cookie(app, user, client):
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value)
    assert stolen.get("/facturas/").status_code == 200
    assert user.post("/salir").status_code == 303
    response = stolen.get("/facturas/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/entrar")


def test_password_change_ends_other_sessions_but_not_this_one(app, user, client):
    other = _signed_in(app, "duena", PASSWORD)
    user.get("/mi-cuenta/contrasena")
    response = user.post("/mi-cuenta/contrasena", {
        "current": PASSWORD, "password": OTHER_PASSWORD, "confirm": OTHER_PASSWORD})
    assert response.status_code == 303
    assert user.get("/facturas/").status_code == 200
    assert other.get("/facturas/").status_code == 302


def test_wrong_current_password_does_not_change_it(app, user):
    user.get("/mi-cuenta/contrasena")
    response = user.post("/mi-cuenta/contrasena", {
        "current": "no-es-la-mía", "password": OTHER_PASSWORD, "confirm": OTHER_PASSWORD})
    assert response.status_code == 422
    assert "no es correcta" in response.get_data(as_text=True)


def test_settings_change_records_who_did_it(app, connected):
    with app.app_context():
        rows = [(a.username, a.action) for a in db.session.query(UserAction)]
    assert rows == [("duena", "Cambiar credenciales de Alegra")]
    page = connected.get("/bitacora/acciones").get_data(as_text=True)
    assert "Cambiar credenciales de Alegra" in page and "duena" in page


@pytest.fixture
def served(app):
    """The app over real HTTP (threaded), for concurrent requests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _fresh_form(base, path):
    session = requests.Session()
    token = csrf_from(session.get(base + path, timeout=30).text)
    return session, token


def test_parallel_wrong_logins_evaluate_at_most_the_limit(app, served, monkeypatch):
    _add_user(app, "duena", "dueno", PASSWORD)
    evaluated = []
    real_check = service.check_password_hash

    def counting(hashed, password):
        if hashed != service._dummy_hash():
            evaluated.append(password)
        return real_check(hashed, password)

    monkeypatch.setattr(service, "check_password_hash", counting)
    sessions = [_fresh_form(served, "/entrar") for _ in range(40)]

    def attempt(pair):
        session, token = pair
        return session.post(served + "/entrar", data={
            "csrf_token": token, "username": "duena", "password": "adivinanza-mala"},
            allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(attempt, sessions))
    assert statuses == [422] * 40
    assert len(evaluated) <= app.config["LOGIN_MAX_FAILURES"]
    session, token = _fresh_form(served, "/entrar")
    right = session.post(served + "/entrar", data={
        "csrf_token": token, "username": "duena", "password": PASSWORD},
        allow_redirects=False, timeout=60)
    assert right.status_code == 422 and service.REFUSED in right.text


def test_unknown_user_does_the_same_work_and_gets_the_same_words(app, user, monkeypatch):
    hashed = []
    real_check = service.check_password_hash
    monkeypatch.setattr(service, "check_password_hash",
                        lambda h, p: hashed.append(h.split("$")[0]) or real_check(h, p))
    known = Browserless(app.test_client()).login("duena", "adivinanza-mala")
    unknown = Browserless(app.test_client()).login("nadie", "adivinanza-mala")
    assert known.status_code == unknown.status_code == 422
    assert service.REFUSED in known.get_data(as_text=True)
    assert service.REFUSED in unknown.get_data(as_text=True)
    assert hashed[0] == hashed[1] == app.config["PASSWORD_HASH_METHOD"]


def test_parallel_first_run_posts_create_exactly_one_owner(app, served):
    sessions = [_fresh_form(served, "/primer-uso") for _ in range(10)]

    def attempt(numbered):
        number, (session, token) = numbered
        return session.post(served + "/primer-uso", data={
            "csrf_token": token, "username": f"duena{number}", "password": PASSWORD,
            "confirm": PASSWORD}, allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(attempt, enumerate(sessions)))
    with app.app_context():
        assert db.session.query(User).count() == 1
    assert all(s in (302, 303) for s in statuses), statuses


def test_stamp_records_who_did_it_on_the_invoice_and_in_the_bitacora(app, invoicing):
    invoice_id = invoicing.draft()
    assert invoicing.stamp(invoice_id).status_code == 200
    page = invoicing.user.get(f"/facturas/{invoice_id}").get_data(as_text=True)
    assert "duena · Timbrar" in page
    actions = invoicing.user.get(f"/bitacora/acciones?factura={invoice_id}").get_data(
        as_text=True)
    assert "Timbrar" in actions and f"#{invoice_id}" in actions


def test_every_invoice_endpoint_is_listed_explicitly(app):
    # New actions on fiscal documents must be given a permission on purpose.
    invoices = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("invoices.")}
    assert "invoices.*" not in policy.POLICY
    assert {e for e in invoices if e not in policy.POLICY} == set()
