"""Send a stamped document by e-mail through Alegra: one row claimed per press, never twice.

Alegra's e-mail endpoint is not idempotent (evidence §4), so the claim comes first: the
EmailSend row is inserted (unique form token, at most one in flight per document) and only
the request that inserted it calls Alegra. A lost answer is recorded as «sin confirmar»,
never retried by itself.
"""
import logging
import re
from collections import namedtuple
from dataclasses import dataclass

from email_validator import EmailNotValidError
from email_validator import validate_email
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import crypto
from ..alegra import AlegraError
from ..alegra import api
from ..audit.recorder import recorder
from ..extensions import db
from ..settings import alegra as connection
from ..timeutil import utcnow
from .models import FAILED
from .models import SENDING
from .models import SENT
from .models import UNKNOWN
from .models import EmailSend
from .models import MailSettings

log = logging.getLogger(__name__)
MAX_RECIPIENTS = 10
AUTOMATIC = "automático"
_Note = namedtuple("_Note", "code message")


class BadRecipients(ValueError):
    """The addresses typed are not all e-mail addresses."""


def parse_recipients(text):
    """Split and check addresses typed with commas, semicolons or spaces; return a list."""
    found = []
    for raw in re.split(r"[,;\s]+", text or ""):
        if not raw:
            continue
        try:
            address = validate_email(raw, check_deliverability=False).normalized
        except EmailNotValidError:
            raise BadRecipients(f"«{raw[:80]}» no es un correo válido; escribe direcciones como "
                                f"facturas@cliente.mx, separadas por comas.") from None
        if address.lower() not in {a.lower() for a in found}:
            found.append(address)
    if not found:
        raise BadRecipients("Escribe por lo menos un correo.")
    if len(found) > MAX_RECIPIENTS:
        raise BadRecipients(f"Se puede enviar a {MAX_RECIPIENTS} correos a la vez como máximo.")
    return found


def default_recipients(document):
    """The customer's billing e-mail(s), as the send form starts."""
    customer = getattr(document, "customer", None)
    return (customer.email or "") if customer else ""


def history(document_type, document_id):
    """Every send of a document, newest first."""
    return db.session.query(EmailSend).filter_by(
        document_type=document_type, document_id=document_id).order_by(
        EmailSend.id.desc()).all()


def auto_send_enabled():
    """Whether documents are e-mailed right after they are stamped."""
    row = db.session.get(MailSettings, 1)
    return bool(row and row.auto_send)


def set_auto_send(enabled):
    """Turn the automatic send on or off."""
    row = db.session.get(MailSettings, 1) or MailSettings(id=1)
    row.auto_send = bool(enabled)
    db.session.add(row)
    db.session.commit()


@dataclass
class Outcome:
    """What a press of «Enviar» did: the send row (when one was made) and a notice."""

    send: EmailSend | None = None
    notice: str | None = None
    duplicate: bool = False


def _claim(document_type, document, recipients, token, who):
    row = EmailSend(document_type=document_type, document_id=document.id, token=token,
                    recipients=",".join(recipients), state=SENDING, requested_by=who)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return row


def _refusal(document_type, document, token):
    same = db.session.query(EmailSend).filter_by(token=token).first()
    if same is not None:
        return Outcome(send=same, duplicate=True, notice=(
            "Este envío ya se hizo con el mismo botón (doble clic): no se mandó otra vez."))
    return Outcome(duplicate=True, notice="Este documento se está enviando en otra ventana; "
                                          "espera a que termine.")


def _who():
    try:
        return current_user.username if current_user.is_authenticated else AUTOMATIC
    except (AttributeError, RuntimeError):
        return AUTOMATIC


def send(document_type, document, recipients, token, who=None):
    """Send a stamped document to recipients once per token; return an Outcome."""
    if document.status != "stamped" or not document.alegra_id:
        return Outcome(notice="Solo se envían por correo documentos timbrados y vigentes.")
    row = _claim(document_type, document, recipients, token, who or _who())
    if row is None:
        return _refusal(document_type, document, token)
    note = f"Correo a {', '.join(recipients)} — solicitado por {row.requested_by}"
    base = recorder(document.id if document_type == "invoice" else None)

    def on_call(**call):
        # The bitácora row says to whom and by whom when Alegra accepted the send.
        base(**{**call, "error": call["error"] or _Note(None, note)})

    try:
        client = connection.make_client(on_call=on_call)
        api.send_email(client, document_type, document.alegra_id, recipients)
    except AlegraError as err:
        if err.maybe_sent:
            _finish(row, UNKNOWN, f"{err.message} Puede que el correo sí haya salido: confirma "
                                  f"con tu cliente antes de enviarlo otra vez.")
        else:
            _finish(row, FAILED, f"Alegra no envió el correo: {err.message}")
    except (crypto.KeyProblem, connection.NotConfigured) as exc:
        _finish(row, FAILED, str(exc))
    except Exception:  # noqa: BLE001 - the row must not stay «enviando» forever
        log.exception("E-mail send %s failed", row.id)
        _finish(row, FAILED, "Ocurrió un error inesperado; no se pudo enviar.")
    else:
        _finish(row, SENT, None)
    return Outcome(send=row)


def _finish(row, state, message):
    row.state, row.message, row.finished_at = state, message, utcnow()
    db.session.commit()


def send_after_stamping(document_type, document):
    """The automatic send, when the setting is on and the customer has an address."""
    if not auto_send_enabled():
        return None
    try:
        recipients = parse_recipients(default_recipients(document))
    except BadRecipients:
        return None
    # One automatic send per document ever: its token is fixed.
    return send(document_type, document, recipients, f"auto:{document_type}:{document.id}",
                who=AUTOMATIC)
