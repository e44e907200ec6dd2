"""Control characters are refused at every text field, with a Spanish message, never a 500."""
import io

import pytest

from apunto_fact.customers.models import Customer
from apunto_fact.extensions import db
from apunto_fact.invoices.models import Invoice
from apunto_fact.products.models import Product
from apunto_fact.sat import rules
from conftest import CUSTOMER
from conftest import PRODUCT

MESSAGE = "carácter de control invisible"
CONTROLS = {"NUL": "\x00", "VT": "\x0b", "ESC": "\x1b"}


@pytest.mark.parametrize("text, multiline, code", [
    ("a\x00b", False, "U+0000"), ("a\x0bb", True, "U+000B"), ("a\x1bb", False, "U+001B"),
    ("a\x7fb", True, "U+007F"), ("a\tb", False, "U+0009"), ("a\nb", False, "U+000A"),
])
def test_the_rule_names_the_character(text, multiline, code):
    assert code in rules.control_characters(text, multiline=multiline)


@pytest.mark.parametrize("text", ["línea 1\nlínea 2", "con\ttab", "Ñandú ¿ü? €"])
def test_tab_and_newline_are_fine_in_multiline_text(text):
    assert rules.control_characters(text, multiline=True) is None


def _count(app, model):
    with app.app_context():
        return db.session.query(model).count()


def test_invoice_line_description_refused_at_the_field(invoicing, app):
    for char in CONTROLS.values():
        data = invoicing.form(lines=[{"product_id": invoicing.product_ids[0],
                                      "description": f"Consul{char}toría"}])
        response = invoicing.user.post("/facturas/nueva", data, htmx=True)
        html = response.get_data(as_text=True)
        assert (response.status_code, MESSAGE in html.split(
            'id="feedback-lines-0-description"')[1][:300]) == (422, True)
    assert _count(app, Invoice) == 0


def test_invoice_observations_take_newlines_but_not_escape(invoicing, app):
    bad = invoicing.user.post("/facturas/nueva",
                              invoicing.form(observations="Pago\x1b en dos partes"), htmx=True)
    assert bad.status_code == 422 and MESSAGE in bad.get_data(as_text=True)
    good = invoicing.user.post("/facturas/nueva",
                               invoicing.form(observations="Pago\nen dos partes"), htmx=True)
    assert good.status_code == 204
    with app.app_context():
        assert db.session.query(Invoice.observations).scalar() == "Pago\nen dos partes"


def test_product_and_customer_text_refused_at_the_field(connected, app):
    for char in CONTROLS.values():
        for field in ("name", "sku"):
            response = connected.post("/productos/nuevo", {**PRODUCT, field: f"Con{char}sul"},
                                      htmx=True)
            assert (response.status_code, MESSAGE in response.get_data(as_text=True)) == (
                422, True)
        response = connected.post("/clientes/nuevo",
                                  {**CUSTOMER, "street": f"Av. Juárez{char} 10"}, htmx=True)
        assert (response.status_code, MESSAGE in response.get_data(as_text=True)) == (422, True)
    assert (_count(app, Product), _count(app, Customer)) == (0, 0)


def test_live_check_reports_it_while_typing(connected):
    response = connected.post("/clientes/campos", {**CUSTOMER, "name": "XOCHILT\x1b CASAS",
                                                   "_trigger": "name"}, htmx=True)
    assert response.status_code == 200
    assert MESSAGE in response.get_data(as_text=True)


def test_csv_import_marks_the_row(connected, app):
    text = ("nombre,codigo,clave_prod_serv,clave_unidad,precio_unitario,objeto_imp,iva,ieps,"
            "retencion_isr,retencion_iva\nConsul\x1btoría,,80101500,E48,1000,02,16,,,\n")
    connected.get("/productos/importar")
    response = connected.client.post("/productos/importar", data={
        "csrf_token": connected.token,
        "archivo": (io.BytesIO(text.encode()), "productos.csv")},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and MESSAGE in html
    assert _count(app, Product) == 0


def test_readiness_blocks_data_stored_before_the_rule(invoicing, app, sandbox):
    invoice_id = invoicing.draft()
    with app.app_context():
        db.session.get(Customer, invoicing.customer_id).name = "XOCHILT\x1b CASAS CHAVEZ"
        db.session.commit()
    response = invoicing.stamp(invoice_id)
    assert response.status_code == 422
    assert f"Cliente: El texto tiene un {MESSAGE} (U+001B)" in response.get_data(as_text=True)
    assert invoicing.invoice(invoice_id).status == "draft"


@pytest.mark.parametrize("url", ["/facturas/?q=a%00b", "/clientes/?q=a%00b",
                                 "/productos/?q=a%00b"])
def test_nul_in_a_search_is_a_400_not_a_500(connected, url):
    assert connected.get(url).status_code == 400


def test_nul_in_the_login_form_is_a_field_error(client):
    from conftest import Browserless
    helper = Browserless(client)
    helper.create_owner()
    helper.post("/salir")
    helper.get("/entrar")
    response = helper.post("/entrar", {"username": "due\x00na", "password": "x"})
    assert (response.status_code, MESSAGE in response.get_data(as_text=True)) == (422, True)
