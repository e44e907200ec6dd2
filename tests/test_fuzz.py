"""Hostile input to every route of app.url_map: never a 500, never a traceback.

The routes are enumerated from the url_map, so views added later are covered without
touching this file. Field names are collected from every page the app renders, and each
POST route receives every name with each hostile value of a fixed corpus (deterministic,
bounded to a few seconds).
"""
import io
import re

import pytest

# Values a browser, a script or a careless paste can send.
HOSTILE = [
    "", " ", "\x00", "a\x00b", "\r\n", "\t=1+1", "\x1b[31m", "\u202e\u200b", "ñ𝔘😀",
    "x" * 100_000, "-1", "0", "1e308", "-1e308", "NaN", "Infinity", "1" * 40,
    "-99999999999999999999.999999", "999999999999.99", "1.0000000001", "0x1F", "[]", "{}",
    "<script>alert(1)</script>", "' OR 1=1 --", "%s%n", "../../etc/passwd", "=HYPERLINK(\"x\")",
    "2026-02-30", "9999-12-31",
]
# Query strings matter to few views: a shorter list for GET.
HOSTILE_QUERY = ["\x00", "\r\n", "x" * 10_000, "-1", "1" * 40, "NaN", "ñ𝔘😀", "2026-02-30"]
SKIP = {"static", "auth.logout"}  # logging out would end the fuzzing session


def _fill(rule, ids):
    def value(match):
        converter, name = match.group(1) or "", match.group(2)
        if "any(" in converter:
            return re.search(r"any\(([^,)]+)", converter).group(1).strip()
        return str(ids.get(name, ids["default"]))
    return re.sub(r"<(?:([^<>]+):)?([^<>:]+)>", value, rule.rule)


def _routes(app, ids):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIP:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, _fill(rule, ids)


def _field_names(user, app, ids):
    names = set()
    for endpoint, method, url in _routes(app, ids):
        if method != "GET":
            continue
        html = user.get(url).get_data(as_text=True)
        names.update(re.findall(r'name="([^"]+)"', html))
    names.discard("csrf_token")
    # The invoice editor's line fields exist for index 0 only in a fresh page.
    names.update({"lines-0-product_id", "lines-1-product_id", "lines-0-quantity", "_trigger",
                  "_fix", "q", "page", "next", "target", "archivo"})
    return sorted(names)


def _check(response, what):
    body = response.get_data(as_text=True)
    assert response.status_code != 500, what
    assert "Traceback" not in body and 'File "' not in body, what


@pytest.fixture
def ids(invoicing):
    invoice_id = invoicing.draft()
    return {"invoice_id": invoice_id, "customer_id": invoicing.customer_id,
            "product_id": invoicing.product_ids[0], "record_id": invoicing.product_ids[0],
            "user_id": 1, "token": "A" * 32, "default": 1}


def test_hostile_values_to_every_route_never_give_a_500(app, invoicing, ids):
    user = invoicing.user
    names = _field_names(user, app, ids)
    assert len(names) > 30
    routes = list(_routes(app, ids))
    assert len(routes) > 40
    sent = 0
    for endpoint, method, url in routes:
        if method == "GET":
            for number, value in enumerate(HOSTILE_QUERY):
                htmx = {"HX-Request": "true"} if number % 2 else {}
                query = {n: value for n in ("q", "page", "estado", "resultado", "factura",
                                            "ruta", "target", "cliente", "next", "desde")}
                _check(user.client.get(url, query_string=query, headers=htmx),
                       (endpoint, url, value[:20]))
                sent += 1
            continue
        for number, value in enumerate(HOSTILE):
            htmx = {"HX-Request": "true"} if number % 2 else {}
            data = {n: value for n in names}
            if "importar" in url:
                data["archivo"] = (io.BytesIO(value.encode("utf-8", "surrogatepass")), "x.csv")
            _check(user.post(url, data, headers=htmx), (endpoint, url, value[:20]))
            sent += 1
        # Missing fields: nothing at all, only a trigger, and every k-th field left out.
        for trigger in ("", "\x00", *names[:: max(1, len(names) // 4)]):
            _check(user.post(url, {"_trigger": trigger}), (endpoint, url, "only", trigger))
            sent += 1
        for k in range(2, 6):
            partial = {n: "1" for i, n in enumerate(names) if i % k}
            _check(user.post(url, partial, headers={"HX-Request": "true"}),
                   (endpoint, url, f"every {k}th missing"))
            sent += 1
        # Wrong types: every field twice.
        _check(user.post(url, {n: ["1", "x"] for n in names}), (endpoint, url, "lists"))
        sent += 1
    assert sent > 700


def test_product_post_without_unit_price_keeps_the_stored_price(app, invoicing):
    product_id = invoicing.product_ids[0]
    data = {k: v for k, v in {**__import__("conftest").PRODUCT, "name": "Asesoría"}.items()
            if k != "unit_price"}
    response = invoicing.user.post(f"/productos/{product_id}", data, htmx=True)
    assert response.status_code == 204
    with app.app_context():
        from apunto_fact.extensions import db
        from apunto_fact.products.models import Product
        product = db.session.get(Product, product_id)
        assert (product.name, str(product.unit_price)) == ("Asesoría", "1000")


@pytest.mark.parametrize("product_id", [None, "", "999999", "99999999999999999999", "abc"])
def test_invoice_line_without_a_known_product_is_refused_at_the_field(app, invoicing,
                                                                     product_id):
    data = invoicing.form()
    if product_id is None:
        del data["lines-0-product_id"]
    else:
        data["lines-0-product_id"] = product_id
    response = invoicing.user.post("/facturas/nueva", data, htmx=True)
    assert response.status_code == 422
    from apunto_fact.invoices.editor import NO_PRODUCT
    assert NO_PRODUCT in response.get_data(as_text=True)


def test_invoice_total_is_bounded_so_every_database_stores_it(app, invoicing):
    line = {"product_id": invoicing.product_ids[0], "quantity": "999999999999",
            "unit_price": "999999999999"}
    response = invoicing.user.post("/facturas/nueva", invoicing.form(lines=[line]), htmx=True)
    assert response.status_code == 422
    assert "demasiado grande" in response.get_data(as_text=True)
    ok = {"product_id": invoicing.product_ids[0], "quantity": "1", "unit_price": "99999999999"}
    assert invoicing.user.post("/facturas/nueva", invoicing.form(lines=[ok]),
                               htmx=True).status_code == 204


@pytest.mark.parametrize("target", ["/%0d%0a", "/%09x", "/\\evil.example", "//evil.example"])
def test_login_with_a_hostile_next_goes_home(app, user, client, target):
    from conftest import PASSWORD
    user.post("/salir")
    user.get("/entrar")
    response = user.post(f"/entrar?next={target}", {"username": "duena", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_a_nul_byte_gets_a_field_message_in_forms_and_a_400_in_queries(app, user):
    response = user.post("/clientes/nuevo", {"name": "A\x00B", "rfc": "XAXX010101000"})
    assert response.status_code == 422
    assert user.get("/clientes/?q=a%00b").status_code == 400
    assert app.test_client().get("/entrar?next=/%00").status_code == 400
