"""Drafts can be deleted (never once sent to Alegra); any invoice can be copied to a new draft."""
import re

from apunto_fact.extensions import db
from apunto_fact.invoices.models import Invoice


def version_of(app, invoice_id):
    with app.app_context():
        return db.session.get(Invoice, invoice_id).version


def test_a_draft_is_deleted_after_the_in_page_confirmation(invoicing):
    app, user = invoicing.app, invoicing.user
    draft = invoicing.draft()
    page = user.get(f"/facturas/{draft}").get_data(as_text=True)
    assert f"Sí, borrar Borrador {draft}" in page and "hx-confirm" not in page
    response = user.post(f"/facturas/{draft}/borrar", {"version": version_of(app, draft)},
                         htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/facturas/"
    with app.app_context():
        assert db.session.get(Invoice, draft) is None
    assert f"Borrador {draft} borrado." in user.get("/facturas/").get_data(as_text=True)


def test_a_stale_delete_is_refused_with_the_current_state(invoicing):
    app, user = invoicing.app, invoicing.user
    draft = invoicing.draft()
    old = version_of(app, draft)
    assert invoicing.stamp(draft).status_code == 200
    response = user.post(f"/facturas/{draft}/borrar", {"version": old}, htmx=True)
    assert response.status_code == 409
    assert "ya no es un borrador" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Invoice, draft).status == "stamped"


def test_a_stamped_invoice_is_duplicated_into_a_new_draft(invoicing):
    app, user = invoicing.app, invoicing.user
    original = invoicing.draft(lines=[{"product_id": invoicing.product_ids[0], "quantity": "3"}])
    invoicing.stamp(original)
    response = user.post(f"/facturas/{original}/duplicar", htmx=True)
    assert response.status_code == 204
    copy_id = int(response.headers["HX-Redirect"].rsplit("/", 1)[1])
    with app.app_context():
        source, copy = db.session.get(Invoice, original), db.session.get(Invoice, copy_id)
        assert copy.status == "draft" and copy.uuid is None and copy.number is None
        assert copy.customer_id == source.customer_id and copy.total == source.total
        assert [(line.description, line.quantity) for line in copy.lines] == \
            [(line.description, line.quantity) for line in source.lines]
        number = source.number
    page = user.get(f"/facturas/{copy_id}").get_data(as_text=True)
    assert re.search(rf"Borrador {copy_id}: copia de Factura {number}\.", page)
