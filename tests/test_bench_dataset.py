"""The benchmark data generator leaves a database the app keeps working on."""
from bench.dataset import populate

from apunto_fact.extensions import db


def test_a_draft_saves_after_the_bulk_load(invoicing, app):
    with app.app_context():
        counts = populate(invoices=60)
        db.session.remove()
    assert counts == {"customers": 50, "products": 20, "invoices": 60}
    assert invoicing.draft() == 61
    rows = invoicing.user.get("/facturas/?q=A60").get_data(as_text=True)
    assert 'href="/facturas/60"' in rows
