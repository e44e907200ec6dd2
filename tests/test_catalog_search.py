"""Customer and product search through the database's full-text index (issue 13, item 5)."""
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
from sqlalchemy import text

from apunto_fact import catalog
from apunto_fact.customers.models import Customer
from apunto_fact.extensions import db
from apunto_fact.products.models import Product
from conftest import sql_statements

HX = {"HX-Request": "true"}
NAMES = {"CACX7605101P8": "XOCHILT CASAS CHÁVEZ", "EKU9003173C9": "ESCUELA KEMPER URGATE",
         "PEÑA800101AB1": "Ferretería Peña y Hermanos", "TAL900101XY2": "TALLER EL CHAVO"}


def _customer(rfc, name):
    customer = Customer(rfc=rfc, name=name, regimen="601", uso_cfdi="G03", metodo_pago="PUE",
                        forma_pago="03", cp="42501")
    customer.refresh_search_text()
    db.session.add(customer)
    return customer


@pytest.fixture
def customers(app):
    with app.app_context():
        rows = [_customer(rfc, name) for rfc, name in NAMES.items()]
        product = Product(name="Tornillo ½ pulgada", sku="TOR-12", clave_prod_serv="31161500",
                          clave_unidad="H87", unit_price=Decimal("3.50"))
        product.refresh_search_text()
        db.session.add(product)
        db.session.commit()
        ids = {c.rfc: c.id for c in rows}
        db.session.remove()
    return ids


def _names(app, text_, model=Customer, **kwargs):
    with app.app_context():
        return [r.name for r in catalog.search(model, text_, **kwargs).items]


@pytest.mark.parametrize("typed, expected", [
    ("chav", ["TALLER EL CHAVO", "XOCHILT CASAS CHÁVEZ"]),     # word prefixes, any word
    ("CHÁV", ["TALLER EL CHAVO", "XOCHILT CASAS CHÁVEZ"]),     # accents and case folded
    ("chavez casas", ["XOCHILT CASAS CHÁVEZ"]),                # every word, any order
    ("cacx76", ["XOCHILT CASAS CHÁVEZ"]),                      # RFC prefix
    ("pena ferr", ["Ferretería Peña y Hermanos"]),             # ñ is n, as before
    ("emper", []),                                             # inside a word: not a prefix
])
def test_search_matches_word_prefixes_folded(app, customers, typed, expected):
    assert _names(app, typed) == expected


def test_the_index_follows_edits_archiving_and_deletes(app, customers):
    with app.app_context():
        customer = db.session.get(Customer, customers["EKU9003173C9"])
        customer.name = "COLEGIO MONTES AZULES"
        customer.refresh_search_text()
        db.session.commit()
        # Raw SQL writes are followed too (the triggers live in the database).
        db.session.execute(text("DELETE FROM customers WHERE rfc = 'TAL900101XY2'"))
        db.session.execute(text("UPDATE customers SET archived_at = CURRENT_TIMESTAMP "
                                "WHERE rfc = 'CACX7605101P8'"))
        db.session.commit()
    assert _names(app, "montes") == ["COLEGIO MONTES AZULES"]
    assert _names(app, "escuela") == []
    assert _names(app, "chav") == []
    assert _names(app, "chav", archived=True) == ["XOCHILT CASAS CHÁVEZ"]


def test_product_autocomplete_from_one_letter_by_name_sku_and_key(app, customers, user):
    for typed in ("t", "tor-1", "3116", "PULG"):
        html = user.get(f"/facturas/buscar-producto?producto_q={typed}",
                        headers=HX).get_data(as_text=True)
        assert "Tornillo ½ pulgada" in html, typed


def test_customer_autocomplete_lists_matches_in_name_order(app, customers, user):
    html = user.get("/facturas/buscar-cliente?cliente_q=chá", headers=HX).get_data(as_text=True)
    assert re.findall(r'data-pick-value="(\d+)"', html) == [
        str(customers["TAL900101XY2"]), str(customers["CACX7605101P8"])]


def test_keystrokes_read_the_index_never_count_offset_or_scan(app, customers, user):
    def type_():
        for url in ("/facturas/buscar-cliente?cliente_q=ch", "/facturas/buscar-cliente?cliente_q=chav",
                    "/clientes/?q=fer", "/productos/?q=tor", "/facturas/buscar-producto?producto_q=t",
                    f"/clientes/?despues={customers['CACX7605101P8']}"):
            assert user.get(url, headers=HX).status_code == 200
    statements = sql_statements(app, type_)
    searched = [s for s in statements if "from customers" in s or "from products" in s]
    assert searched and not [s for s in statements if "count(" in s]
    # The next page starts after a row (SQLite's dialect writes OFFSET 0 with every LIMIT).
    assert [s for s in searched if "(customers.name, customers.id) > (" in s]
    conditions = [s.partition("\nwhere")[2] for s in searched]
    assert not [c for c in conditions if " like " in c or "search_text" in c]
    assert len([s for s in statements if "customer_search" in s or "product_search" in s]) == 5


def test_many_matches_walk_the_name_index(app):
    """A common prefix (more than catalog.FEW matches) still reads a page in name order."""
    with app.app_context():
        db.session.execute(db.insert(Customer), [
            {"rfc": f"AAA0101{i:04d}", "name": f"GRUPO {i:05d}", "regimen": "601",
             "uso_cfdi": "G03", "metodo_pago": "PUE", "forma_pago": "03", "cp": "42501",
             "search_text": f"grupo {i:05d} aaa0101{i:04d}"} for i in range(1200)])
        db.session.commit()
        page = catalog.search(Customer, "gru")
        assert [c.name for c in page.items] == [f"GRUPO {i:05d}" for i in range(25)]
        later = catalog.search(Customer, "gru", after=page.next_cursor)
        assert later.items[0].name == "GRUPO 00025" and later.has_prev and later.has_next
        db.session.remove()


HOSTILE = ['"', "'", '""', "*", "a*", "NEAR", "NEAR(a b)", "a NEAR b", "^a", "-a", "a -b",
           "(", ")", "(a", "a OR b", "a AND", "NOT a", "a:*", "a & b", "!a", "a | b", "{a}",
           "col:a", "body:a", "\\", "%", "_", "a%b", "'; DROP TABLE customers; --", "ñ", "中文",
           "😀", "a" * 100, " ".join("ab" for _ in range(50)), "<script>", "a\tb", "+a", "~a",
           "a<->b", "a:*B", "'a':*", "\u00a0", "\u200b", "rowid:1", "*" * 50, "(" * 200,
           '"' * 101, "NEAR/3", "1e10", "0x1f", "ß", "İ", "ﬁ", "x" * 5000, "customer_search"]


@pytest.mark.parametrize("url", ["/clientes/?q=", "/productos/?q=", "/clientes/?archivados=1&q=",
                                 "/facturas/buscar-cliente?cliente_q=",
                                 "/facturas/buscar-producto?producto_q="])
def test_hostile_search_strings_never_fail(app, customers, user, url):
    statuses = {typed: user.get(url + quote(typed), headers=HX).status_code for typed in HOSTILE}
    assert {k: v for k, v in statuses.items() if v != 200} == {}
    # A NUL is refused by the request guard (400), never reaches the index.
    assert user.get(url + "a%00b", headers=HX).status_code == 400


@pytest.mark.parametrize("cursor", ["x", "-1", "99999999999999999999", "1.5", str(10 ** 9), ""])
def test_a_cursor_that_names_no_row_shows_the_first_page(app, customers, user, cursor):
    html = user.get(f"/clientes/?despues={cursor}", headers=HX).get_data(as_text=True)
    assert re.findall(r'href="/clientes/(\d+)"', html) == [
        str(customers[rfc]) for rfc in ("EKU9003173C9", "PEÑA800101AB1", "TAL900101XY2",
                                        "CACX7605101P8")]
