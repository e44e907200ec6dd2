"""Stamping, reconciling and cancelling invoices through Alegra, never twice.

The move to "stamping" is one conditional UPDATE, so a double click, two tabs or two
workers make one Alegra call. Before the POST a unique marker is stored in the invoice
and sent in Alegra's ``observations``; when the answer is lost (timeout, dropped
connection, 5xx) the invoice becomes "unknown" and is resolved only by reading Alegra
for that marker, never by posting again (alegra-api.md §6.4, §9).
"""
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import update

from .. import crypto
from ..alegra import AlegraError
from ..alegra import api
from ..alegra import mapping
from ..extensions import db
from ..settings import alegra as connection
from ..settings import diagnostic
from ..timeutil import utcnow
from . import archive
from . import hints
from . import readiness
from . import sync
from .models import CANCEL_PENDING
from .models import CANCELLED
from .models import DRAFT
from .models import EDITABLE
from .models import REJECTED
from .models import STAMPED
from .models import STAMPING
from .models import UNKNOWN
from .models import Invoice
from .totals import compute

log = logging.getLogger(__name__)
STALE_STAMPING = timedelta(minutes=5)
# Alegra refused the data itself (not the credentials, the plan or the rate).
DATA_REJECTIONS = {400, 404, 409, 422}


@dataclass
class Outcome:
    """What happened, for the page: the invoice plus messages that did not fit a field."""

    invoice: Invoice
    blocked: list = None   # readiness problems that kept us from calling Alegra
    notice: str = None     # e.g. "another tab is already stamping"


def _claim(invoice, from_states, to_state, **values):
    """Atomically move invoice from one of from_states to to_state; return True if we won."""
    result = db.session.execute(
        update(Invoice).where(Invoice.id == invoice.id, Invoice.status.in_(from_states))
        .values(status=to_state, updated_at=utcnow(), **values))
    db.session.commit()
    db.session.refresh(invoice)
    return result.rowcount == 1


def _problem(invoice, status, err=None, message=None, field=None, code=None):
    invoice.status = status
    if err is not None:
        code, field, hint = hints.explain(err)
        message = err.message + (f"\n{hint}" if hint else "")
    invoice.problem_code, invoice.problem_field, invoice.problem_message = code, field, message
    db.session.commit()


def stamp(invoice):
    """Stamp an editable invoice in Alegra; return an Outcome."""
    problems = readiness.problems(invoice) or diagnostic.before_first_stamp()
    if problems:
        return Outcome(invoice, blocked=problems)
    marker = secrets.token_hex(10)
    previous = invoice.status
    if not _claim(invoice, EDITABLE, STAMPING, attempt_marker=marker,
                  attempt_started_at=utcnow(), problem_code=None, problem_message=None,
                  problem_field=None):
        return Outcome(invoice, notice="Esta factura ya se está timbrando (o ya se timbró) en "
                                       "otra ventana; este es su estado actual.")
    try:
        client = connection.make_client(invoice_id=invoice.id)
        payload = _payload(client, invoice, marker)
    except AlegraError as exc:
        # Nothing was posted for this invoice yet: it stays editable, no folio was used.
        _problem(invoice, REJECTED if exc.status in DATA_REJECTIONS else previous, err=exc)
        return Outcome(invoice)
    except (sync.SetupMissing, crypto.KeyProblem, connection.NotConfigured) as exc:
        _problem(invoice, previous, message=str(exc), code="configuracion")
        return Outcome(invoice)
    except Exception:  # noqa: BLE001 - a bug must not leave the invoice stuck in "stamping"
        db.session.rollback()
        log.exception("Preparing invoice %s for Alegra failed", invoice.id)
        _problem(invoice, previous, code="interno", message=(
            "Ocurrió un error inesperado antes de enviar la factura a Alegra; no se creó "
            "nada ni se usó folio. Intenta de nuevo."))
        return Outcome(invoice)
    try:
        body = api.create_and_stamp_invoice(
            client, payload, read_timeout=current_app.config["ALEGRA_STAMP_TIMEOUT"])
    except AlegraError as err:
        _after_failed_post(client, invoice, previous, err)
        return Outcome(invoice)
    _stamped(invoice, mapping.invoice_from_alegra(body), client)
    return Outcome(invoice)


def _payload(client, invoice, marker):
    contact_id = sync.ensure_contact(client, invoice.customer)
    totals = compute(invoice.lines)
    lines, retentions = [], {}
    for line, amounts in zip(invoice.lines, totals.lines):
        lines.append((line, sync.ensure_item(client, line.product), sync.tax_ids(client, line)))
        for kind, amount in amounts.retained.items():
            rid = sync.retention_id(client, kind, getattr(line, kind))
            retentions[rid] = retentions.get(rid, 0) + amount
    due = invoice.date + timedelta(days=invoice.customer.credit_days or 0)
    return mapping.invoice_payload(invoice, contact_id, lines, list(retentions.items()),
                                   sync.template_id(client), marker, due)


def _after_failed_post(client, invoice, previous, err):
    if err.maybe_sent:
        # Alegra may have created and stamped it: find out by reading, never re-post.
        _problem(invoice, UNKNOWN, message=(
            f"{err.message} No sabemos si Alegra alcanzó a timbrarla. Presiona «Verificar "
            f"con Alegra»; no vuelvas a timbrarla a ciegas."), code=err.kind)
        reconcile(invoice, client)
    elif err.status == 429:
        wait = f" en {err.reset} s" if err.reset is not None else ""
        _problem(invoice, previous, message=f"Alegra recibió demasiadas solicitudes; intenta "
                                            f"de nuevo{wait}. No se creó la factura.",
                 code="429")
    else:
        if err.code == 3051:
            sync.discard_rejected_leftover(client, invoice)
        _problem(invoice, REJECTED, err=err)


def _stamped(invoice, info, client):
    invoice.status = STAMPED
    invoice.alegra_id, invoice.uuid = info.id, info.uuid
    invoice.serie, invoice.folio, invoice.stamped_at = info.serie, info.folio, info.stamped_at
    invoice.alegra_total = info.total
    invoice.problem_code = invoice.problem_message = invoice.problem_field = None
    db.session.commit()
    fetch_files(invoice, client, info)


def fetch_files(invoice, client, info=None):
    """Download XML and PDF into the archive; a failure only leaves them for later."""
    try:
        if info is None or not (info.xml_url and info.pdf_url):
            body = api.get_invoice(client, invoice.alegra_id, files=True)
            info = mapping.invoice_from_alegra(body)
        for kind, url in (("xml", info.xml_url), ("pdf", info.pdf_url)):
            if url and archive.read(invoice, kind) is None:
                archive.save(invoice, kind, api.download(client, url))
        db.session.commit()
        return True
    except AlegraError:
        log.warning("Could not archive the files of invoice %s yet", invoice.id)
        db.session.rollback()
        return False


def reconcile(invoice, client=None):
    """Resolve unknown, stale stamping and pending-cancel invoices by reading Alegra."""
    if invoice.status == STAMPING and invoice.attempt_started_at and \
            utcnow() - invoice.attempt_started_at > STALE_STAMPING:
        invoice.status = UNKNOWN
        db.session.commit()
    if invoice.status not in (UNKNOWN, CANCEL_PENDING):
        return invoice
    try:
        client = client or connection.make_client(invoice_id=invoice.id)
        if invoice.status == UNKNOWN:
            _resolve_unknown(client, invoice)
        else:
            _resolve_cancel(client, invoice)
    except (AlegraError, crypto.KeyProblem, connection.NotConfigured) as exc:
        log.info("Invoice %s still unresolved: %s", invoice.id, exc)
    return invoice


def _find_by_marker(client, invoice):
    return api.find_invoice_by_marker(client, invoice.customer.alegra_id, invoice.date,
                                      invoice.attempt_marker)


def _resolve_unknown(client, invoice):
    info = _find_by_marker(client, invoice)
    if info is not None and info.uuid and info.state == mapping.S_STAMPED:
        _stamped(invoice, info, client)
    elif info is not None and info.state == mapping.S_REJECTED:
        _problem(invoice, REJECTED, message="El SAT rechazó la factura (según Alegra). Revisa "
                                            "los datos del cliente y vuelve a timbrar.")
    elif info is None and utcnow() - invoice.attempt_started_at > timedelta(
            seconds=current_app.config["RECONCILE_GRACE_SECONDS"]):
        _problem(invoice, DRAFT, message="Alegra no registró esta factura: no se usó ningún "
                                         "folio. Ya puedes timbrarla de nuevo.", code="no-creada")


def _resolve_cancel(client, invoice):
    info = mapping.invoice_from_alegra(api.get_invoice(client, invoice.alegra_id))
    if info.state in (mapping.S_CANCEL_PROCESS, mapping.S_UNKNOWN):
        return  # the SAT or the receiver has not answered yet (never read as refused)
    if info.state == mapping.S_CANCELLED:
        invoice.status, invoice.cancelled_at = CANCELLED, utcnow()
        invoice.problem_message = None
    elif info.state == mapping.S_STAMPED:
        invoice.status = STAMPED
        invoice.problem_code = "cancelacion-rechazada"
        invoice.problem_message = ("La cancelación no procedió: el receptor la rechazó o el SAT "
                                   "no la aceptó. La factura sigue vigente.")
    db.session.commit()


def cancel(invoice, motive, replacement_uuid=None):
    """Ask Alegra to cancel a stamped invoice with a SAT motive; return an Outcome."""
    if not _claim(invoice, (STAMPED,), CANCEL_PENDING, cancel_motive=motive,
                  cancel_replacement_uuid=replacement_uuid, cancel_requested_at=utcnow(),
                  problem_code=None, problem_message=None, problem_field=None):
        return Outcome(invoice, notice="Solo una factura timbrada se puede cancelar; este es su "
                                       "estado actual.")
    try:
        client = connection.make_client(invoice_id=invoice.id)
        body = api.void_invoice(client, invoice.alegra_id,
                                mapping.void_payload(motive, replacement_uuid))
    except (crypto.KeyProblem, connection.NotConfigured) as exc:
        _problem(invoice, STAMPED, message=str(exc), code="configuracion")
        return Outcome(invoice)
    except AlegraError as err:
        if err.maybe_sent:
            invoice.problem_message = ("No hubo respuesta de Alegra; la cancelación pudo haberse "
                                       "solicitado. Se verificará con Alegra.")
            db.session.commit()
        else:
            _problem(invoice, STAMPED, err=err)
        return Outcome(invoice)
    if mapping.invoice_from_alegra(body).state == mapping.S_CANCELLED:
        invoice.status, invoice.cancelled_at = CANCELLED, utcnow()
        db.session.commit()
    return Outcome(invoice)


def pending():
    """Invoices that reconcile should look at."""
    return db.session.query(Invoice).filter(
        Invoice.status.in_((UNKNOWN, CANCEL_PENDING, STAMPING))).order_by(Invoice.id).all()


def missing_files():
    """Stamped invoices whose XML or PDF is not archived yet."""
    return db.session.query(Invoice).filter(
        Invoice.status.in_((STAMPED, CANCEL_PENDING, CANCELLED)),
        (Invoice.xml_path.is_(None)) | (Invoice.pdf_path.is_(None))).all()


