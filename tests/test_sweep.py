"""The queue's sweep: invoices and REPs reconciled, missing files fetched with progress shown."""
import itertools

from apunto_fact.extensions import db
from apunto_fact.invoices import stamping
from apunto_fact.jobs import work
from conftest import sandbox_calls
from conftest import sandbox_control
from conftest import set_faults
from test_jobs import _forget_files
from test_payments import last_payment
from test_payments import register


def test_the_sweep_resolves_an_unknown_rep_by_reading(invoicing, sandbox, app):
    invoice = invoicing.stamped()
    set_faults(sandbox, rules=[{"method": "POST", "path": "/payments",
                                "action": "commit_then_drop"},
                               {"method": "GET", "path": "/payments", "status": 503,
                                "times": 3}])
    register(invoicing, [(invoice, "500.00")])
    assert last_payment(app).status == "unknown"
    sandbox_control(sandbox, "stats/reset")
    with app.app_context():
        counts = work.sweep()
    payment = last_payment(app)
    assert (counts["checked"], payment.status, bool(payment.xml_path and payment.pdf_path)) == \
        (1, "stamped", True)
    assert "POST /payments" not in sandbox_calls(sandbox)["calls"]


def _three_without_files(invoicing, app):
    ids = []
    for _ in range(3):
        invoice_id = invoicing.draft()
        invoicing.stamp(invoice_id)
        _forget_files(app, invoice_id)
        ids.append(invoice_id)
    return [invoicing.invoice(i) for i in ids]


def test_missing_files_are_fetched_with_progress_and_failures_on_inicio(invoicing, sandbox,
                                                                        app, monkeypatch):
    first, refused, third = _three_without_files(invoicing, app)
    set_faults(sandbox, rules=[{"method": "GET", "path": f"/invoices/{refused.alegra_id}",
                                "status": 404, "times": None}])
    seen = []
    fetch = stamping.fetch_files

    def watched(invoice, client, info=None):
        with app.test_request_context("/"):
            seen.append(str(work.files_progress()))  # what Inicio shows at this moment
        return fetch(invoice, client, info)
    monkeypatch.setattr(stamping, "fetch_files", watched)
    with app.app_context():
        counts = work.sweep()
    assert counts == {"checked": 0, "archived": 2, "files_pending": 1}
    assert ["Descargando archivos faltantes: 0 de 3" in seen[0],
            "Descargando archivos faltantes: 1 de 3" in seen[1],
            "Descargando archivos faltantes: 2 de 3" in seen[2]] == [True, True, True]
    assert f"Alegra no entregó los archivos de: {refused.title}" in seen[2]
    home = invoicing.user.get("/").get_data(as_text=True)
    assert "se descargaron 2 de 3 comprobantes" in home
    assert f"Alegra no entregó los archivos de: {refused.title}." in home
    assert [bool(invoicing.invoice(i.id).xml_path) for i in (first, refused, third)] == \
        [True, False, True]


def test_a_sweep_out_of_time_leaves_the_rest_for_the_next_and_says_so(invoicing, app):
    _three_without_files(invoicing, app)
    ticks = itertools.chain([0, 0], itertools.repeat(work.FILES_SECONDS + 1))
    with app.app_context():
        counts = work.sweep(clock=lambda: next(ticks))
        left = len(stamping.missing_files())
        db.session.remove()
    assert (counts["archived"], left) == (1, 2)
    home = invoicing.user.get("/").get_data(as_text=True)
    assert "se descargaron 1 de 3 comprobantes" in home and "Quedan 2 para la siguiente" in home


def test_the_sweep_looks_for_an_old_attempts_late_cfdi_only_when_a_check_falls_due(
        invoicing, sandbox, app):
    """ATTACK3 Q8: not at every sweep for three days (that took Alegra's whole budget)."""
    from datetime import timedelta

    from apunto_fact.documents import StampAttempt
    from apunto_fact.timeutil import utcnow

    invoice = invoicing.stamped()
    with app.app_context():
        attempt = StampAttempt.query.filter_by(document_id=invoice.id).one()
        attempt.outcome = "not_found"  # as if an earlier try was concluded «no creada»
        attempt_id = attempt.id
        db.session.commit()

    def sweep_lists_after(minutes):
        with app.app_context():
            attempt = db.session.get(StampAttempt, attempt_id)
            attempt.posted_at = utcnow() - timedelta(minutes=minutes)
            db.session.commit()
            sandbox_control(sandbox, "stats/reset")
            work.sweep()
            db.session.remove()
        return sandbox_calls(sandbox)["calls"].get("GET /invoices", 0) > 0

    # 92 min: the 90-minute check fell due 2 minutes ago; 100 min: the next is at 180.
    assert (sweep_lists_after(92), sweep_lists_after(100)) == (True, False)
