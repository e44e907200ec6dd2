"""Clientes through the forms: every SAT rule with a valid and an invalid case (§1)."""
import re

import pytest

from apunto_fact.customers.models import Customer
from apunto_fact.extensions import db
from apunto_fact.settings import company

VALID = {
    "rfc": "EKU9003173C9", "name": "ESCUELA KEMPER URGATE", "regimen": "601",
    "uso_cfdi": "G03", "metodo_pago": "PUE", "forma_pago": "03", "credit_days": "0",
    "partner_type": "cliente", "cp": "42501", "email": "",
}
PERSONA_FISICA = {**VALID, "rfc": "CACX7605101P8", "name": "XOCHILT CASAS CHAVEZ",
                  "regimen": "605", "uso_cfdi": "D01", "cp": "06600"}


@pytest.fixture
def with_company(app):
    with app.test_request_context():
        company.save({"rfc": "EKU9003173C9", "name": "ESCUELA KEMPER URGATE", "regimen": "601",
                      "cp": "42501"})


def post(user, **changes):
    return user.post("/clientes/nuevo", {**VALID, **changes}, htmx=True)


def field_text(response, name):
    html = response.get_data(as_text=True)
    assert f'id="field-{name}"' in html, f"no field {name}"
    return html.split(f'id="field-{name}"')[1].split('<div class="field')[0]


def rows(response):
    return response.get_data(as_text=True).split('id="rows"')[1]


def saved(app):
    with app.app_context():
        return db.session.query(Customer).all()


def assert_rejected(app, response, field, text):
    assert response.status_code == 422
    assert text in field_text(response, field)
    assert saved(app) == []


def test_valid_customer_is_saved_and_listed(app, user):
    response = post(user)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/clientes/"
    [customer] = saved(app)
    assert (customer.rfc, customer.regimen, customer.uso_cfdi) == ("EKU9003173C9", "601", "G03")
    assert "ESCUELA KEMPER URGATE" in user.get("/clientes/").get_data(as_text=True)


def test_persona_fisica_valid_case(app, user):
    assert post(user, **PERSONA_FISICA).status_code == 204


# Rule 1: RFC pattern and length; persona type from length.
@pytest.mark.parametrize("rfc, message", [
    ("", "Escribe el RFC."),
    ("EKU90031", "12 caracteres (persona moral) o 13"),
    ("EKU-900317-3C9", "sin espacios, guiones"),
    ("EKU900230AB1", "no existe en el calendario"),
    ("1KU9003173C9", "no tiene la forma que pide el SAT"),
    ("PUTO010101AA1", "palabra que el SAT no asigna"),
])
def test_rule1_invalid_rfc(app, user, rfc, message):
    assert_rejected(app, post(user, rfc=rfc), "rfc", message)


def test_rule1_lowercase_rfc_with_spaces_is_normalised(app, user):
    assert post(user, rfc="  eku9003173c9 ").status_code == 204
    assert saved(app)[0].rfc == "EKU9003173C9"


def test_rule1_enye_and_ampersand_rfc(app, user):
    assert post(user, rfc="H&E951128469", name="H & E").status_code == 204


# Rule 2: a bad check digit only warns.
def test_rule2_bad_check_digit_warns_but_saves(app, user):
    live = user.post("/clientes/campos", {**VALID, "rfc": "EKU9003173C8", "_trigger": "rfc"},
                     htmx=True)
    assert "dígito verificador no coincide" in live.get_data(as_text=True)
    assert post(user, rfc="EKU9003173C8").status_code == 204


# Rule 4 (and §3.1): régimen capital is flagged, with a one-click fix, never stripped silently.
def test_rule4_capital_suffix_warns_and_offers_the_fix(app, user):
    response = user.post("/clientes/campos", {**VALID, "name": "EMPRESA DEMO, S.A. DE C.V.",
                                              "_trigger": "name"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="feedback-name" hx-swap-oob="true"' in html
    assert "sin el régimen de capital «S.A. DE C.V.»" in html and "CFDI40145" in html
    assert "Quitar «S.A. DE C.V.»" in html
    fixed = user.post("/clientes/campos", {**VALID, "name": "EMPRESA DEMO, S.A. DE C.V.",
                                           "_trigger": "name", "_fix": "strip_suffix"},
                      htmx=True).get_data(as_text=True)
    assert 'id="field-name" hx-swap-oob="true"' in fixed and 'value="EMPRESA DEMO"' in fixed
    # Saving without using the fix keeps the name as typed (a warning, not an error).
    assert post(user, name="EMPRESA DEMO SA DE CV").status_code == 204
    assert saved(app)[0].name == "EMPRESA DEMO SA DE CV"


def test_rule4_name_without_suffix_has_no_warning(user):
    html = user.post("/clientes/campos", {**VALID, "_trigger": "name"}, htmx=True)
    assert "régimen de capital" not in html.get_data(as_text=True)


# Rule 6: DomicilioFiscalReceptor is 5 digits and exists in c_CodigoPostal.
@pytest.mark.parametrize("cp, message", [("6600", "exactamente 5 dígitos"),
                                         ("00100", "no existe en el catálogo del SAT"),
                                         ("", "exactamente 5 dígitos")])
def test_rule6_invalid_cp(app, user, cp, message):
    assert_rejected(app, post(user, cp=cp), "cp", message)


def test_rule6_cp_shows_its_estado_while_typing(user):
    html = user.post("/clientes/campos", {**VALID, "cp": "06600", "_trigger": "cp"},
                     htmx=True).get_data(as_text=True)
    assert "Ciudad de México" in html


# Rules 7 and 8: a generic RFC fills régimen 616, uso S01 and the company's CP.
def test_rules7_8_generic_rfc_fills_616_s01_and_company_cp(with_company, user):
    html = user.post("/clientes/campos", {**VALID, "rfc": "XAXX010101000", "regimen": "",
                                          "uso_cfdi": "", "cp": "", "_trigger": "rfc"},
                     htmx=True).get_data(as_text=True)
    assert 'id="field-regimen" hx-swap-oob="true"' in html
    assert '<option selected value="616">' in html
    assert '<option selected value="S01">' in html
    assert 'value="42501"' in html
    assert '<option value="601">' not in html  # only 616 is offered


def test_rule7_generic_rfc_with_another_cp_is_refused(app, with_company, user):
    response = post(user, rfc="XAXX010101000", name="PUBLICO EN GENERAL", regimen="616",
                    uso_cfdi="S01", cp="06600")
    assert_rejected(app, response, "cp", "CFDI40149")


def test_rule8_generic_rfc_with_another_regimen_is_refused(app, with_company, user):
    response = post(user, rfc="XAXX010101000", name="VENTAS MOSTRADOR", regimen="612",
                    uso_cfdi="S01", cp="42501")
    assert_rejected(app, response, "regimen", "CFDI40159")


def test_rules7_8_generic_rfc_valid_case_and_may_repeat(app, with_company, user):
    data = dict(rfc="XAXX010101000", name="PUBLICO EN GENERAL", regimen="616",
                uso_cfdi="S01", cp="42501")
    assert post(user, **data).status_code == 204
    assert post(user, **{**data, "name": "MOSTRADOR"}).status_code == 204
    assert len(saved(app)) == 2


def test_foreign_generic_rfc_requires_s01(app, with_company, user):
    response = post(user, rfc="XEXX010101000", name="ACME INC", regimen="616",
                    uso_cfdi="G02", cp="42501")
    assert_rejected(app, response, "uso_cfdi", "debe ser S01")


# Rule 9: régimen fits the persona type.
def test_rule9_regimen_of_the_wrong_persona_type(app, user):
    assert_rejected(app, post(user, regimen="605", uso_cfdi="S01"), "regimen", "CFDI40158")
    assert_rejected(app, post(user, regimen="999"), "regimen", "CFDI40157")


def test_rule9_regimen_options_follow_the_persona_type(user):
    html = user.post("/clientes/campos", {**VALID, "rfc": "CACX7605101P8", "_trigger": "rfc"},
                     htmx=True).get_data(as_text=True)
    regimen = html.split('id="field-regimen"')[1].split("</select>")[0]
    assert 'value="605"' in regimen and 'value="601"' not in regimen


# Rule 10: uso CFDI fits the régimen (matrix of §5) and the persona type.
def test_rule10_uso_not_allowed_for_the_regimen(app, user):
    response = post(user, **{**PERSONA_FISICA, "uso_cfdi": "G03"})
    assert_rejected(app, response, "uso_cfdi", "CFDI40161")
    response = post(user, uso_cfdi="D01")  # a persona moral cannot deduct D01
    assert_rejected(app, response, "uso_cfdi", "CFDI40161")


def test_rule10_uso_options_follow_the_regimen(user):
    html = user.post("/clientes/campos", {**PERSONA_FISICA, "regimen": "605", "uso_cfdi": "",
                                          "_trigger": "regimen"}, htmx=True)
    uso = html.get_data(as_text=True).split('id="field-uso_cfdi"')[1].split("</select>")[0]
    assert 'value="CN01"' in uso and 'value="D01"' in uso and 'value="G03"' not in uso


# Rule 11: "PUBLICO EN GENERAL" only with XAXX010101000.
def test_rule11_publico_en_general_requires_xaxx(app, user):
    assert_rejected(app, post(user, name="Público en General"), "name", "CFDI40146")


# Rules 12 and 13: PPD ⇒ 99; PUE ⇒ not 99.
def test_rule12_ppd_with_another_forma_is_refused(app, user):
    assert_rejected(app, post(user, metodo_pago="PPD", forma_pago="03"), "forma_pago",
                    "CFDI40105")


def test_rule12_ppd_selects_and_locks_99(user):
    html = user.post("/clientes/campos", {**VALID, "metodo_pago": "PPD", "forma_pago": "03",
                                          "_trigger": "metodo_pago"}, htmx=True)
    forma = html.get_data(as_text=True).split('id="field-forma_pago"')[1].split("</select>")[0]
    assert '<option selected value="99">' in forma and 'value="03"' not in forma


def test_rule12_ppd_99_valid_case(user):
    assert post(user, metodo_pago="PPD", forma_pago="99").status_code == 204


def test_rule13_pue_with_99_is_refused_and_99_is_not_offered(app, user):
    assert_rejected(app, post(user, forma_pago="99"), "forma_pago", "no 99 Por definir")
    html = user.get("/clientes/nuevo").get_data(as_text=True)
    assert 'value="99"' in html  # before choosing PUE/PPD every forma is listed
    live = user.post("/clientes/campos", {**VALID, "_trigger": "metodo_pago"}, htmx=True)
    forma = live.get_data(as_text=True).split('id="field-forma_pago"')[1].split("</select>")[0]
    assert 'value="99"' not in forma


# Rule 25: text lengths and the pipe character.
@pytest.mark.parametrize("changes, field, message", [
    ({"name": "A" * 301}, "name", "Máximo 300"),
    ({"name": "EMPRESA | DEMO"}, "name", "«|»"),
    ({"name": "x" * 2_000_000}, "name", "Máximo 300"),
    ({"credit_days": "-1"}, "credit_days", "entre 0 y 3650"),
    ({"credit_days": "abc"}, "credit_days", "entero válido"),
    ({"email": "no-es-correo"}, "email", "correo válido"),
    ({"metodo_pago": ""}, "metodo_pago",
     "en una sola exhibición (PUE) o en parcialidades o diferido (PPD)"),
])
def test_rule25_and_required_fields(app, user, changes, field, message):
    assert_rejected(app, post(user, **changes), field, message)


def test_form_keeps_what_the_user_typed(user):
    html = post(user, rfc="eku9003173c9", name="Mi Cliente S.A.", cp="6600").get_data(as_text=True)
    assert 'value="EKU9003173C9"' in html and 'value="Mi Cliente S.A."' in html
    assert 'value="6600"' in html


def test_one_customer_per_rfc(app, user):
    assert post(user).status_code == 204
    response = post(user, name="OTRO NOMBRE")
    assert response.status_code == 422
    assert "Ya existe un cliente con este RFC" in field_text(response, "rfc")


def test_edit_keeps_own_rfc_and_saves_changes(app, user):
    post(user)
    [customer] = saved(app)
    response = user.post(f"/clientes/{customer.id}", {**VALID, "credit_days": "30"}, htmx=True)
    assert response.status_code == 204
    assert saved(app)[0].credit_days == 30


def test_archive_hides_and_restore_brings_back(app, user):
    post(user)
    [customer] = saved(app)
    user.post(f"/clientes/{customer.id}/archivar")
    assert "ESCUELA KEMPER" not in rows(user.get("/clientes/"))
    assert "ESCUELA KEMPER" in rows(user.get("/clientes/?archivados=1"))
    user.post(f"/clientes/{customer.id}/restaurar")
    assert "ESCUELA KEMPER" in rows(user.get("/clientes/"))


def test_live_search_returns_rows_fragment_accent_insensitive(app, user):
    post(user, **PERSONA_FISICA)
    post(user, rfc="EKU9003173C9", name="ESCUELA KEMPER URGATE")
    response = user.get("/clientes/?q=chávez", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="rows"' in html
    assert "XOCHILT CASAS CHAVEZ" in html and "KEMPER" not in html
    assert "KEMPER" in user.get("/clientes/?q=eku900").get_data(as_text=True)


def test_pagination(app, user):
    with app.app_context():
        for i in range(30):
            c = Customer(rfc=f"XAXX010101000", name=f"CLIENTE {i:02d}", regimen="616",
                         uso_cfdi="S01", metodo_pago="PUE", forma_pago="01", cp="42501")
            c.refresh_search_text()
            db.session.add(c)
        db.session.commit()
    first = user.get("/clientes/").get_data(as_text=True)
    assert "CLIENTE 00" in first and "CLIENTE 24" in first and "CLIENTE 25" not in first
    after = re.search(r'href="/clientes/\?despues=(\d+)"', first).group(1)
    second = user.get(f"/clientes/?despues={after}",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "CLIENTE 25" in second and "CLIENTE 29" in second and "CLIENTE 24" not in second
    assert "Siguiente" not in second
    before = re.search(r'href="/clientes/\?antes=(\d+)"', second).group(1)
    back = user.get(f"/clientes/?antes={before}", headers={"HX-Request": "true"})
    assert re.findall(r"CLIENTE \d\d", back.get_data(as_text=True)) == \
        [f"CLIENTE {i:02d}" for i in range(25)]


def test_live_check_rejects_unknown_trigger(user):
    assert user.post("/clientes/campos", {"_trigger": "password"}, htmx=True).status_code == 400


def test_unknown_customer_is_404(user):
    assert user.get("/clientes/999").status_code == 404
