"""Pagos: «Registrar pago», the payment and its REP, «Pagos por complementar»."""
from datetime import date

from flask import abort
from flask import flash
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup

from ..customers.models import Customer
from ..documents.states import DRAFT
from ..documents.states import REJECTED
from ..documents.states import UNKNOWN
from ..documents.web import replacements
from ..documents.web import stored_file
from ..extensions import db
from ..invoices.models import Invoice
from ..sat import catalogs as cat
from ..settings import alegra as connection
from ..web import is_htmx
from ..web import redirect_to
from ..web import render
from . import balances
from . import bp
from . import forms
from . import service
from . import stamping
from .models import Payment

FORM, FORM_PANEL = "payments/new.html", "payments/_form.html"
PAGE, PANEL = "payments/show.html", "payments/_payment.html"
WITHOUT_REP = (DRAFT, REJECTED, UNKNOWN, "stamping", "queued")


def _get(payment_id):
    return db.session.get(Payment, payment_id) or abort(404)


def _form_context(customer, values, errors=None, **extra):
    errors = errors or {}
    listed = balances.open_invoices(customer.id) if customer else []
    shown = {f"apply-{invoice.id}" for invoice, _ in listed}
    # Refusals about invoices not in the table (PUE, cancelled, another customer's).
    other = [m for k, m in errors.items() if k.startswith("apply-") and k not in shown]
    return {"customer": customer, "values": values, "errors": errors, "other_errors": other,
            "open_invoices": listed,
            "formas": {k: v for k, v in cat.FORMAS_PAGO.items() if k != "99"},
            "currencies": forms.CURRENCIES, **extra}


@bp.get("/nuevo")
def new():
    """«Registrar pago» for one invoice (?factura=) or for a customer's invoices (?cliente=)."""
    invoice = db.session.get(Invoice, forms.row_id(request.args.get("factura")))
    customer = invoice.customer if invoice else db.session.get(
        Customer, forms.row_id(request.args.get("cliente")))
    if customer is None:
        abort(404)
    values = forms.blank()
    if invoice is not None:
        pending = balances.balance(invoice).pending
        values = forms.blank(invoice, pending)
    return render(FORM, FORM_PANEL, **_form_context(customer, values, invoice=invoice))


@bp.post("/nuevo")
def create():
    """Check, register and stamp the REP; the result replaces the form in place."""
    customer = db.session.get(Customer, forms.row_id(request.form.get("customer_id"))) or \
        abort(404)
    data, amounts, typed, errors = forms.parse(request.form)
    token = typed.get("form_token") or abort(400)
    if errors:
        return render(FORM, FORM_PANEL, status=422, **_form_context(customer, typed, errors))
    outcome = service.register(customer, data, amounts, token, current_user.username)
    if outcome.errors:
        return render(FORM, FORM_PANEL, status=422,
                      **_form_context(customer, typed, outcome.errors))
    payment = outcome.payment
    notice = outcome.notice
    if notice is None:
        notice = stamping.stamp(payment).notice
    if not is_htmx():
        return redirect_to(url_for("payments.show", payment_id=payment.id))
    return render(PAGE, PANEL, payment=payment, notice=notice)


@bp.get("/<int(max=2147483647):payment_id>")
def show(payment_id):
    """The payment, its REP and what it applied to each invoice."""
    return render(PAGE, PANEL, payment=_get(payment_id))


@bp.post("/<int(max=2147483647):payment_id>/timbrar")
def stamp(payment_id):
    """Try again to stamp a payment whose REP was refused or never created."""
    outcome = stamping.stamp(_get(payment_id))
    return render(PAGE, PANEL, payment=outcome.payment, notice=outcome.notice)


@bp.post("/<int(max=2147483647):payment_id>/descartar")
def discard(payment_id):
    """Delete a payment registered by mistake, only while it has no REP and none may exist."""
    payment = _get(payment_id)
    if not stamping.discardable(payment):
        return render(PAGE, PANEL, status=409, payment=payment, notice=(
            "Solo se puede descartar un pago sin complemento timbrado ni en camino."))
    customer_id = payment.customer_id
    db.session.delete(payment)
    db.session.commit()
    flash("Pago descartado; el saldo de sus facturas volvió a quedar pendiente.", "ok")
    return redirect_to(url_for("payments.new", cliente=customer_id))


@bp.post("/<int(max=2147483647):payment_id>/verificar")
def verify(payment_id):
    """Resolve «por verificar» by reading Alegra (never by registering again)."""
    return render(PAGE, PANEL, payment=stamping.reconcile(_get(payment_id)))


@bp.post("/<int(max=2147483647):payment_id>/cancelar")
def cancel(payment_id):
    """Cancel the REP with a SAT motive; 01 needs the stamped REP that replaces it."""
    payment = _get(payment_id)
    motive = request.form.get("motive", "")
    replacement = request.form.get("replacement_uuid", "").strip().upper() or None
    errors = {}
    if motive not in cat.MOTIVOS_CANCELACION:
        errors["motive"] = "Elige el motivo de cancelación."
    elif motive == "01" and replacement not in {p.uuid for p in replacements(payment)}:
        errors["replacement_uuid"] = ("Con el motivo 01 elige el complemento timbrado que "
                                      "sustituye a este (emítelo primero).")
    if errors:
        return render(PAGE, PANEL, status=422, payment=payment, cancel_errors=errors)
    outcome = stamping.cancel(payment, motive, replacement if motive == "01" else None)
    return render(PAGE, PANEL, payment=outcome.payment, notice=outcome.notice)


@bp.get("/<int(max=2147483647):payment_id>/<any(xml, pdf):kind>")
def download(payment_id, kind):
    """Serve the REP's XML or PDF from the archive; fetch it from Alegra only if missing."""
    payment = _get(payment_id)
    return stored_file(payment, kind,
                       lambda: stamping.fetch_files(payment, connection.make_client()),
                       url_for("payments.show", payment_id=payment.id))


def without_rep():
    """Payments whose REP is not stamped yet, oldest first."""
    return db.session.query(Payment).filter(Payment.status.in_(WITHOUT_REP)).order_by(
        Payment.paid_at, Payment.id).all()


def _last_month(today):
    first = today.replace(day=1)
    previous = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return previous, first


@bp.get("/por-complementar")
def pending():
    """«Pagos por complementar»: payments without a stamped REP, and the deadline."""
    today = service.local_now().date()
    return render("payments/pending.html", payments=without_rep(), today=today,
                  deadline=today.replace(day=5))


@bp.app_template_global()
def rep_reminder():
    """The mark on Inicio: last month's payments without REP as the 5th approaches."""
    if not current_user.is_authenticated:
        return ""
    today = service.local_now().date()
    start, end = _last_month(today)
    late = [p for p in without_rep() if start <= p.paid_at.date() < end]
    current = [p for p in without_rep() if p.paid_at.date() >= end]
    if not late and not current:
        return ""
    return Markup(render_template("payments/_reminder.html", late=late, current=current,
                                  today=today, urgent=today.day <= 5))


@bp.app_template_global()
def invoice_payments(invoice):
    """The balance box of a PPD invoice: total, paid, pending, its payments, «Registrar pago»."""
    if invoice.metodo_pago != "PPD" or not invoice.uuid:
        return ""
    return Markup(render_template("payments/_invoice_balance.html", invoice=invoice,
                                  balance=balances.balance(invoice)))


@bp.app_context_processor
def sat_names():
    """Names of the formas de pago for the payment pages."""
    return {"formas_pago": cat.FORMAS_PAGO}


@bp.app_template_global()
def payment_replacements(payment):
    """Template helper for the REP cancel form."""
    return replacements(payment)
