"""Invoice list at scale: full-text search, customer filter by id, keyset pages, no COUNT."""
import datetime
import re

import pytest
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import text

from apunto_fact import fulltext
from apunto_fact.customers.models import Customer
from apunto_fact.extensions import db
from apunto_fact.invoices import service
from apunto_fact.invoices.models import Invoice
from apunto_fact.timeutil import utcnow
from conftest import sql_statements

DAY = datetime.date(2026, 10, 1)


def _customer(name, rfc):
    customer = Customer(rfc=rfc, name=name, regimen="601", uso_cfdi="G03", metodo_pago="PUE",
                        forma_pago="03", cp="06600")
    customer.refresh_search_text()
    db.session.add(customer)
    db.session.flush()
    return customer


def _invoice(customer, number, days=0, uuid=None, status="stamped"):
    # Rows as they stand after stamping; status changes only through documents.transition(),
    # so they are written as a bulk load writes them.
    values = dict(customer_id=customer.id, date=DAY + datetime.timedelta(days=days),
                  uso_cfdi="G03", metodo_pago="PUE", forma_pago="03", status=status,
                  serie="A" if uuid else None, folio=str(number) if uuid else None,
                  uuid=uuid, subtotal=0, discount=0, taxes=0, retentions=0, total=0,
                  currency="MXN", created_at=utcnow(), updated_at=utcnow())
    invoice_id = db.session.execute(insert(Invoice).values(**values)).inserted_primary_key[0]
    return db.session.get(Invoice, invoice_id)


UUID_1 = "5E2C7A10-3B4D-4F6A-9C1E-0A1B2C3D4E5F"
UUID_2 = "9F8E7D6C-5B4A-4321-8765-FEDCBA987654"


@pytest.fixture
def listed(app, user):
    """Two customers with a few invoices each; returns their ids."""
    with app.app_context():
        pena = _customer("Peña Ñandú Construcciones", "PENA800101AB1")
        otro = _customer("Taller Hermanos Ríos", "TAHR900202CD2")
        ids = {
            "a152": _invoice(pena, 152, 1, UUID_1).id,
            "a153": _invoice(otro, 153, 2, UUID_2).id,
            "draft": _invoice(otro, 0, 3, status="draft").id,
        }
        db.session.commit()
        ids.update(pena=pena.id, otro=otro.id)
    return ids


def _found(app, words, **filters):
    with app.app_context():
        return {i.id for i in service.search(words, **filters).items}


@pytest.mark.parametrize("query, expected", [
    ("A152", {"a152"}),                       # serie and folio as printed
    ("153", {"a153"}),                        # the folio alone
    ("5e2c7a10-3b4d-4f6a-9c1e-0a1b2c3d4e5f", {"a152"}),  # the whole UUID, any case
    ("9F8E7D6C", {"a153"}),                   # the start of a UUID
    ("pena nandu", {"a152"}),                 # name without accents or ñ
    ("Peña", {"a152"}),                       # name as written
    ("tahr9002", {"a153", "draft"}),          # start of the RFC
    ("hermanos", {"a153", "draft"}),          # a word of the name
    ("cons pena", {"a152"}),                  # word prefixes in any order
    ("nadie", set()),
])
def test_text_search_covers_serie_folio_uuid_name_and_rfc(app, listed, query, expected):
    assert _found(app, query) == {listed[key] for key in expected}


@pytest.mark.parametrize("query, expected", [
    ("hermanos", ["draft", "a153"]), ("A152", ["a152"]), ("tahr", ["draft", "a153"])])
def test_common_words_walk_the_list_with_the_same_result(app, listed, monkeypatch, query,
                                                          expected):
    monkeypatch.setattr(fulltext, "MANY", 1)
    with app.app_context():
        assert fulltext.few_ids(db.session, db.engine.dialect.name,
                                fulltext.words(query)) is None
        found = [i.id for i in service.search(query).items]
    assert found == [listed[key] for key in expected]


def test_search_index_follows_renames_edits_and_deletes(app, listed):
    with app.app_context():
        otro = db.session.get(Customer, listed["otro"])
        otro.name = "Ferretería Zapata"
        otro.refresh_search_text()
        invoice = db.session.get(Invoice, listed["a152"])
        invoice.folio = "999"
        db.session.delete(db.session.get(Invoice, listed["draft"]))
        db.session.commit()
    assert _found(app, "zapata") == {listed["a153"]}
    assert _found(app, "hermanos") == set()
    assert _found(app, "A999") == {listed["a152"]} and _found(app, "A152") == set()


def test_customer_filter_is_by_id_and_shown_on_the_page(app, listed, user):
    page = user.get(f"/facturas/?cliente={listed['otro']}").get_data(as_text=True)
    rows = re.findall(r'href="/facturas/(\d+)"', page)
    assert sorted(map(int, rows)) == sorted([listed["a153"], listed["draft"]])
    assert "Facturas de <strong>Taller Hermanos Ríos</strong>" in page
    both = user.get(f"/facturas/?cliente={listed['otro']}&estado=draft&q=tahr")
    assert re.findall(r'href="/facturas/(\d+)"', both.get_data(as_text=True)) == \
        [str(listed["draft"])]


def test_keyset_pages_walk_every_invoice_once_both_ways(app, user):
    with app.app_context():
        customer = _customer("Cliente Paginado", "CPAG800101AB1")
        # Several invoices share a date: the id breaks the tie.
        made = [_invoice(customer, n, days=n // 4, status="draft").id for n in range(60)]
        db.session.commit()
    seen, pages, url = [], [], "/facturas/"
    while url:
        html = user.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        pages.append(url)
        seen += [int(i) for i in re.findall(r'href="/facturas/(\d+)"', html)]
        following = re.search(r'href="(/facturas/\?despues=[^"]+)"', html)
        url = following.group(1).replace("&amp;", "&") if following else None
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen)) and len(pages) == 3
    back = user.get(pages[-1], headers={"HX-Request": "true"}).get_data(as_text=True)
    previous = re.search(r'href="(/facturas/\?antes=[^"]+)"', back).group(1)
    html = user.get(previous.replace("&amp;", "&")).get_data(as_text=True)
    assert [int(i) for i in re.findall(r'href="/facturas/(\d+)"', html)] == seen[25:50]


def test_a_mangled_cursor_shows_the_first_page(app, listed, user):
    response = user.get("/facturas/?despues=ayer.x&antes=%27")
    assert response.status_code == 200 and f'href="/facturas/{listed["draft"]}"' in \
        response.get_data(as_text=True)


def test_no_count_on_keystrokes(app, listed, user):
    def type_():
        for url in ("/facturas/buscar-cliente?cliente_q=ta", "/facturas/buscar-cliente?cliente_q=tall",
                    "/facturas/?q=her", "/facturas/?q=hermanos&estado=stamped",
                    "/facturas/buscar-producto?producto_q=s"):
            assert user.get(url, headers={"HX-Request": "true"}).status_code == 200
    statements = sql_statements(app, type_)
    assert statements and not [s for s in statements if "count(" in s]


def test_customer_pick_list_lists_matches(app, listed, user):
    html = user.get("/facturas/buscar-cliente?cliente_q=taller").get_data(as_text=True)
    assert f'data-pick-value="{listed["otro"]}"' in html and "Peña" not in html


def test_customer_filter_and_deep_pages_walk_an_index(app, listed):
    """The one-customer list and a deep page read an index range, not the whole table."""
    after = (DAY, 10**9)
    with app.app_context():
        dialect = db.engine.dialect.name
        for filters in ({"customer_id": listed["otro"]}, {"after": after},
                        {"status": "stamped", "after": after}):
            statement = _sql_of(app, filters)
            with db.engine.connect() as connection:
                if dialect == "sqlite":
                    plan = " | ".join(r[-1] for r in connection.execute(
                        text("EXPLAIN QUERY PLAN " + statement)))
                    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
                    assert "SCAN invoices" not in plan.replace("SCAN invoices USING", ""), plan
                    assert "TEMP B-TREE" not in plan, plan
                else:
                    # A tiny table is cheapest to scan and sort: forbid both, so the plan
                    # shows whether an index can deliver the rows in order at all.
                    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                        connection.execute(text(f"SET {setting} = off"))
                    plan = " | ".join(r[0] for r in connection.execute(
                        text("EXPLAIN " + statement)))
                    assert "Seq Scan on invoices" not in plan and "Index" in plan, plan
                    assert " Sort " not in f" {plan} ", plan


def _sql_of(app, filters):
    captured = []

    def record(conn, cursor, statement, parameters, *args):
        if "from invoices" in statement.lower() and not captured:
            captured.append(_inline(statement, parameters))
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        service.search(**filters)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return captured[0]


def _inline(statement, parameters):
    """The statement with its parameters written in, for EXPLAIN."""
    def literal(value):
        return str(value) if isinstance(value, int) else f"'{value}'"
    if isinstance(parameters, dict):
        for name, value in parameters.items():
            statement = re.sub(rf"%\({name}\)s", literal(value), statement)
        return statement
    for value in parameters:
        statement = statement.replace("?", literal(value), 1)
    return statement
