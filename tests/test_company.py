"""Datos fiscales de la empresa: rules 1, 4, 5, 9 and 24, and the comparison with Alegra."""
import pytest

from apunto_fact.extensions import db
from apunto_fact.settings import company
from apunto_fact.settings.models import Company

URL = "/configuracion/facturacion"
VALID = {"rfc": "EKU9003173C9", "name": "ESCUELA KEMPER URGATE", "regimen": "601",
         "cp": "42501", "street": "Av. Juárez", "exterior": "10", "interior": "",
         "colonia": "Centro", "municipio": "Pachuca", "estado": ""}


def post(user, **changes):
    return user.post(URL, {**VALID, **changes}, htmx=True)


def stored(app):
    with app.app_context():
        return db.session.get(Company, 1)


def test_valid_company_is_saved_and_estado_comes_from_the_cp(app, user):
    response = post(user)
    assert response.status_code == 200
    assert "Datos fiscales guardados." in response.get_data(as_text=True)
    company = stored(app)
    assert (company.rfc, company.regimen, company.cp) == ("EKU9003173C9", "601", "42501")
    assert company.estado == "Hidalgo"


@pytest.mark.parametrize("changes, field, message", [
    ({"rfc": "XAXX010101000"}, "rfc", "no puede usar un RFC genérico"),
    ({"rfc": "EKU90031"}, "rfc", "12 caracteres"),
    ({"regimen": "605"}, "regimen", "CFDI40141"),
    ({"cp": "4250"}, "cp", "exactamente 5 dígitos"),
    ({"cp": "00100"}, "cp", "CFDI40126"),
    ({"name": ""}, "name", "Constancia de Situación Fiscal"),
])
def test_invalid_company_data_is_refused_at_the_field(app, user, changes, field, message):
    response = post(user, **changes)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html.split(f'id="field-{field}"')[1].split('<div class="field')[0]
    assert stored(app) is None


def test_invalid_save_does_not_lose_the_stored_data(app, user):
    post(user)
    post(user, cp="1")
    assert stored(app).cp == "42501"


def test_persona_fisica_company_gets_fisica_regimenes(user):
    html = user.post(URL + "/campos", {**VALID, "rfc": "CACX7605101P8", "_trigger": "rfc"},
                     htmx=True).get_data(as_text=True)
    regimen = html.split('id="field-regimen"')[1].split("</select>")[0]
    assert 'value="612"' in regimen and 'value="626"' in regimen and 'value="601"' not in regimen


def test_capital_suffix_warning_and_one_click_fix(user):
    html = user.post(URL + "/campos", {**VALID, "name": "ESCUELA KEMPER URGATE SA DE CV",
                                       "_trigger": "name"}, htmx=True).get_data(as_text=True)
    assert "Quitar «SA DE CV»" in html
    html = user.post(URL + "/campos", {**VALID, "name": "ESCUELA KEMPER URGATE SA DE CV",
                                       "_trigger": "name", "_fix": "strip_suffix"},
                     htmx=True).get_data(as_text=True)
    assert 'value="ESCUELA KEMPER URGATE"' in html


# Rule 5: the emisor's name must match its RFC: we compare with Alegra's GET /company.
def test_rule5_same_data_as_alegra(connected):
    post(connected)
    html = connected.get(URL + "/alegra").get_data(as_text=True)
    assert "Coinciden con tu cuenta de Alegra" in html


def test_rule5_differences_with_alegra_are_shown_inline(connected):
    post(connected, name="ESCUELA KEMPER", rfc="CACX7605101P8", regimen="612")
    html = connected.get(URL + "/alegra", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "La misma información fiscal tiene que estar en ambas cuentas" in html
    assert "«EKU9003173C9»" in html and "«CACX7605101P8»" in html
    assert "«ESCUELA KEMPER URGATE»" in html


def test_comparison_without_connection_says_why(user):
    post(user)
    html = user.get(URL + "/alegra").get_data(as_text=True)
    assert "No se pudo comparar con Alegra" in html


def test_page_loads_the_comparison_by_itself(user):
    html = user.get(URL).get_data(as_text=True)
    assert 'hx-get="/configuracion/facturacion/alegra"' in html and 'hx-trigger="load"' in html


def test_empty_fiscal_data_are_offered_from_alegra_and_saved_only_when_confirmed(app, connected):
    html = connected.get(URL + "/alegra").get_data(as_text=True)
    assert "Alegra ya conoce tu empresa" in html and "Usar los datos de Alegra" in html
    page = connected.get(URL + "?desde=alegra").get_data(as_text=True)
    assert 'value="EKU9003173C9"' in page and "aún no se guardó nada" in page
    with app.app_context():
        assert company.get() is None
