"""Productos through the forms: SAT keys (19), ObjetoImp ↔ taxes (21, 22), price, name."""
from decimal import Decimal

import pytest

from apunto_fact.extensions import db
from apunto_fact.products.models import Product

VALID = {"name": "Consultoría", "sku": "", "clave_prod_serv": "80101500",
         "clave_unidad": "E48", "unit_price": "1250.50", "objeto_imp": "02", "iva": "16",
         "ieps": "", "ret_isr": "", "ret_iva": ""}


def post(user, **changes):
    return user.post("/productos/nuevo", {**VALID, **changes}, htmx=True)


def saved(app):
    with app.app_context():
        return db.session.query(Product).all()


def field_text(response, name):
    html = response.get_data(as_text=True)
    return html.split(f'id="field-{name}"')[1].split('<div class="field')[0]


def assert_rejected(app, response, field, text):
    assert response.status_code == 422, response.status_code
    assert text in field_text(response, field)
    assert saved(app) == []


def test_valid_product_saved_with_exact_decimal_price(app, user):
    assert post(user, unit_price="1,250.123456").status_code == 204
    [product] = saved(app)
    assert product.unit_price == Decimal("1250.123456")
    assert isinstance(product.unit_price, Decimal)
    listing = user.get("/productos/").get_data(as_text=True)
    assert "Consultoría" in listing and "$1,250.123456" in listing


@pytest.mark.parametrize("name, ok", [("A", False), ("AB", True), ("A" * 50, True),
                                      ("A" * 51, False), ("  ", False)])
def test_name_must_have_2_to_50_characters(app, user, name, ok):
    response = post(user, name=name)
    if ok:
        assert response.status_code == 204
    else:
        assert_rejected(app, response, "name", "entre 2 y 50 caracteres")


# Rule 19: keys exist in c_ClaveProdServ and c_ClaveUnidad.
def test_rule19_unknown_product_key_typed_by_hand(app, user):
    assert_rejected(app, post(user, clave_prod_serv="80101599"), "clave_prod_serv", "CFDI40162")
    assert_rejected(app, post(user, clave_prod_serv="consultoria"), "clave_prod_serv",
                    "CFDI40162")


def test_rule19_unknown_unit_key(app, user):
    assert_rejected(app, post(user, clave_unidad="QQQ"), "clave_unidad", "CFDI40165")


def test_rule19_lowercase_unit_key_is_accepted(app, user):
    assert post(user, clave_unidad="h87").status_code == 204
    assert saved(app)[0].clave_unidad == "H87"


@pytest.mark.parametrize("price, message", [
    ("", "debe ser un número"), ("abc", "debe ser un número"), ("-5", "no admite valores negativos"),
    ("0", "mayor que cero"), ("1.1234567", "6 decimales"), ("NaN", "debe ser un número"),
    ("1e20", "excede el máximo permitido"),
])
def test_rule23_price(app, user, price, message):
    assert_rejected(app, post(user, unit_price=price), "unit_price", message)


# Rule 21: ObjetoImp ↔ concepto taxes.
@pytest.mark.parametrize("changes, field, message", [
    ({"objeto_imp": "02", "iva": ""}, "objeto_imp", "CFDI40171"),
    ({"objeto_imp": "01", "iva": "16"}, "objeto_imp", "CFDI40172"),
    ({"objeto_imp": "03", "ret_isr": "10", "iva": ""}, "objeto_imp", "CFDI40172"),
    ({"objeto_imp": "06", "iva": "16"}, "objeto_imp", "CFDI140226"),
    ({"objeto_imp": "08", "iva": "", "ieps": "8"}, "objeto_imp", "CFDI140226"),
    ({"objeto_imp": "07", "iva": ""}, "ieps", "CFDI140227"),
    ({"objeto_imp": "99"}, "objeto_imp", "CFDI40170"),
])
def test_rule21_objeto_imp_inconsistent_with_taxes(app, user, changes, field, message):
    assert_rejected(app, post(user, **changes), field, message)


@pytest.mark.parametrize("changes", [
    {"objeto_imp": "01", "iva": ""},
    {"objeto_imp": "02", "iva": "exento"},
    {"objeto_imp": "02", "iva": "0", "ieps": "8"},
    {"objeto_imp": "02", "iva": "16", "ret_isr": "10", "ret_iva": "10.6667"},
    {"objeto_imp": "06", "iva": "", "ret_isr": "10"},
    {"objeto_imp": "07", "iva": "", "ieps": "26.5"},
])
def test_rule21_consistent_cases(app, user, changes):
    assert post(user, **changes).status_code == 204


# Rule 22: rates come from c_TasaOCuota; exento is never a retention.
@pytest.mark.parametrize("changes, field", [
    ({"iva": "15"}, "iva"), ({"ieps": "12"}, "ieps"), ({"ret_iva": "exento"}, "ret_iva"),
    ({"ret_isr": "40"}, "ret_isr"),
])
def test_rule22_rates_outside_the_catalog_from_a_tampered_post(app, user, changes, field):
    assert_rejected(app, post(user, **changes), field, "c_TasaOCuota")


def test_resico_retention_warns(user):
    html = user.post("/productos/campos", {**VALID, "ret_isr": "1.25", "_trigger": "ret_isr"},
                     htmx=True).get_data(as_text=True)
    assert "RESICO" in html and "CFDI140224" in html


def test_live_objeto_imp_change_rerenders_tax_fields_as_fragments(user):
    response = user.post("/productos/campos", {**VALID, "objeto_imp": "01",
                                               "_trigger": "objeto_imp"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="feedback-objeto_imp" hx-swap-oob="true"' in html and "CFDI40172" in html
    for name in ("iva", "ieps", "ret_isr", "ret_iva"):
        assert f'id="field-{name}" hx-swap-oob="true"' in html


def test_live_key_check_shows_the_description(user):
    html = user.post("/productos/campos", {**VALID, "_trigger": "clave_prod_serv"},
                     htmx=True).get_data(as_text=True)
    assert "Servicios de consultoría de negocios" in html


def test_autocomplete_by_words_accent_insensitive_and_by_key(user):
    html = user.get("/sat/productos?target=clave_prod_serv&clave_prod_serv=consultoria",
                    headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-pick-value="80101500"' in html and "consultoría" in html
    html = user.get("/sat/productos?target=clave_prod_serv&clave_prod_serv=8010").get_data(
        as_text=True)
    assert 'data-pick-value="80101500"' in html
    html = user.get("/sat/unidades?target=clave_unidad&clave_unidad=pieza").get_data(
        as_text=True)
    assert 'data-pick-value="H87"' in html
    html = user.get("/sat/productos?target=clave_prod_serv&clave_prod_serv=zzzzqq").get_data(
        as_text=True)
    assert "Sin resultados" in html
    assert user.get("/sat/productos?target=password").status_code == 400


def test_edit_product_keeps_price_text(app, user):
    post(user, unit_price="99.5")
    [product] = saved(app)
    html = user.get(f"/productos/{product.id}").get_data(as_text=True)
    assert 'value="99.5"' in html
    assert user.post(f"/productos/{product.id}", {**VALID, "unit_price": "100"},
                     htmx=True).status_code == 204
    assert saved(app)[0].unit_price == Decimal("100")


def test_archive_and_search(app, user):
    post(user)
    post(user, name="Pieza de repuesto", clave_prod_serv="25174000", clave_unidad="H87")
    listing = user.get("/productos/?q=consultoria", headers={"HX-Request": "true"})
    html = listing.get_data(as_text=True)
    assert "Consultoría" in html and "repuesto" not in html and "<html" not in html
    product = [p for p in saved(app) if p.name == "Consultoría"][0]
    user.post(f"/productos/{product.id}/archivar")
    rows = user.get("/productos/").get_data(as_text=True).split('id="rows"')[1]
    assert "Consultoría" not in rows
