"""«Enviar por correo»: the send panel of a stamped invoice or REP, and the auto-send setting."""
import secrets

from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from markupsafe import Markup

from ..extensions import db
from ..web import redirect_to
from ..web import render
from . import bp
from . import service

PANEL = "mail/_panel.html"


def _models():
    from ..invoices.models import Invoice

    models = {"invoice": Invoice}
    try:
        from ..payments.models import Payment
    except ImportError:  # payments arrive with their own model
        pass
    else:
        models["payment"] = Payment
    return models


def _document(document_type, document_id):
    model = _models().get(document_type) or abort(404)
    return db.session.get(model, document_id) or abort(404)


def panel_context(document_type, document, **extra):
    """What the send panel shows: a fresh token, the addresses and the history."""
    return {"doc_type": document_type, "doc": document,
            "send_token": secrets.token_urlsafe(16),
            "recipients": service.default_recipients(document),
            "sends": service.history(document_type, document.id), **extra}


@bp.app_template_global()
def mail_panel(document_type, document):
    """Render the send panel inside a document's page."""
    return Markup(render_template(PANEL, **panel_context(document_type, document)))


@bp.post("/<any(invoice, payment):doc_type>/<int(max=2147483647):doc_id>")
def send(doc_type, doc_id):
    """Send once per press; the panel is re-rendered in place with the outcome."""
    document = _document(doc_type, doc_id)
    typed = request.form.get("recipients", "")[:2000]
    token = request.form.get("send_token", "")[:64]
    if not token:
        abort(400)
    try:
        recipients = service.parse_recipients(typed)
    except service.BadRecipients as exc:
        return render(PANEL, PANEL, status=422, **panel_context(
            doc_type, document, error=str(exc), send_token=token, recipients=typed))
    outcome = service.send(doc_type, document, recipients, token)
    status = 409 if outcome.duplicate else 200
    return render(PANEL, PANEL, status=status, **panel_context(
        doc_type, document, notice=outcome.notice, last=outcome.send))


@bp.route("/configuracion", methods=["GET", "POST"])
def settings():
    """Turn on or off the automatic send right after stamping."""
    if request.method == "POST":
        service.set_auto_send(request.form.get("auto_send") == "1")
        return redirect_to(url_for("mail.settings"))
    return render("mail/settings.html", auto_send=service.auto_send_enabled())
