"""In a real browser: the invoice list filtered by a picked customer, searched, and paged."""
import pytest
from playwright.sync_api import expect

from bench.dataset import populate
from e2e.conftest import create_owner
from e2e.conftest import htmx_idle

from apunto_fact.customers.models import Customer
from apunto_fact.extensions import db

pytestmark = pytest.mark.e2e


def test_pick_a_customer_search_and_page_without_reload(page, live_app, same_page):
    with live_app.app_context():
        populate(invoices=120)
        customer = db.session.get(Customer, 7)
        name, rfc = customer.name, customer.rfc
        db.session.remove()
    create_owner(page)
    page.goto("/facturas/")
    rows = page.locator("#rows tbody tr")
    expect(rows).to_have_count(25)
    with same_page():
        page.get_by_role("link", name="Siguiente ›").click()
        expect(page.get_by_role("link", name="‹ Anterior")).to_be_visible()
        expect(rows).to_have_count(25)
        page.get_by_label("Filtrar por un cliente: escribe su nombre o RFC").fill(rfc)
        page.get_by_role("option", name=name).click()
        expect(page.locator("#rows .filter-note")).to_contain_text(name)
        htmx_idle(page)
        customers = page.locator("#rows tbody td:nth-child(3)")
        assert set(customers.all_inner_texts()) == {name}
    page.goto("/facturas/?q=A37")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text("Factura A37")
    assert page.js_errors == []
