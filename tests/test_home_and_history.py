"""Inicio as a home, full pages on history restore, refusals that explain themselves."""
import datetime
import re

from apunto_fact.extensions import db
from apunto_fact.invoices.models import Invoice


def steps(html):
    """Return the next-steps list as [(label, is_link)]."""
    section = re.search(r'<ol class="steps" id="next-steps">(.*?)</ol>', html, re.S)
    if not section:
        return []
    items = re.findall(r"<li[^>]*>(.*?)</li>", section.group(1), re.S)
    return [(re.sub(r"<[^>]+>|✓|\(hecho\)", "", i).strip(), "<a " in i) for i in items]


def test_a_fresh_home_links_every_next_step(user):
    html = user.get("/").get_data(as_text=True)
    assert steps(html) == [("Conecta tu cuenta de Alegra", True),
                           ("Captura los datos fiscales de tu empresa", True),
                           ("Registra tu primer cliente", True),
                           ("Timbra tu primera factura", True)]


def test_done_steps_stop_being_links_and_the_month_is_summed(invoicing):
    app = invoicing.app
    first = invoicing.draft()
    assert invoicing.stamp(first).status_code == 200
    invoicing.draft()
    html = invoicing.user.get("/").get_data(as_text=True)
    # All four steps done: the list gives way to the month at a glance.
    assert steps(html) == []
    this_month = re.search(r'id="stat-this-month".*?<strong>(.*?)</strong>', html, re.S).group(1)
    assert this_month == "$1,160.00"
    assert re.search(r'id="stat-drafts".*?<strong>(\d+)</strong>', html, re.S).group(1) == "1"
    with app.app_context():
        number = db.session.get(Invoice, first).number
    assert f"Factura {number}" in html and f"Borrador {first + 1}" in html


def test_last_month_counts_only_last_month(invoicing):
    app = invoicing.app
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        invoice.date = datetime.date.today().replace(day=1) - datetime.timedelta(days=3)
        db.session.commit()
    html = invoicing.user.get("/").get_data(as_text=True)
    assert re.search(r'id="stat-last-month".*?<strong>(.*?)</strong>', html, re.S).group(1) == \
        "$1,160.00"
    assert re.search(r'id="stat-this-month".*?<strong>(.*?)</strong>', html, re.S).group(1) == \
        "$0.00"


def test_history_restore_gets_the_full_page_with_its_filter(user):
    url = "/clientes/?q=xochilt"
    fragment = user.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="rows">')
    restored = user.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    html = restored.get_data(as_text=True)
    assert '<nav aria-label="Principal">' in html
    assert re.search(r'<input type="search" id="q" name="q" value="xochilt"', html)


def test_a_refused_htmx_request_swaps_an_explanation_into_the_page(user):
    response = user.post("/clientes/999999/archivar", htmx=True,
                         headers={"HX-Current-URL": "http://localhost/clientes/"})
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#problem-panel"
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "La página que buscas no existe." in html
    assert 'href="http://localhost/clientes/"' in html


def test_the_reload_link_never_points_off_site(user):
    response = user.post("/clientes/999999/archivar", htmx=True,
                         headers={"HX-Current-URL": "https://evil.example/"})
    assert "evil.example" not in response.get_data(as_text=True)


def test_required_fields_are_marked_and_optional_ones_are_not(user):
    html = user.get("/clientes/nuevo").get_data(as_text=True)
    required = set(re.findall(r'<(?:input|select)[^>]*\bid="([a-z_]+)"[^>]*\brequired\b', html)) | \
        set(re.findall(r'<(?:input|select)[^>]*\brequired\b[^>]*\bid="([a-z_]+)"', html))
    assert required == {"rfc", "name", "regimen", "uso_cfdi", "cp", "metodo_pago", "forma_pago",
                        "credit_days"}
    assert "Los campos marcados con * son obligatorios." in html
