"""Register a payment in Alegra and stamp its REP exactly once; cancel it with a SAT motive.

Same guarantees as invoices, on the same machinery (apunto_fact.documents): the claim is the
one guarded transition to "stamping", every attempt has a marker kept in stamp_attempts and
sent in Alegra's observations, a lost answer makes the payment "unknown" and only reading
Alegra under its markers resolves it — a second REP is never posted.
"""
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from .. import crypto
from ..alegra import AlegraError
from ..alegra import api
from ..alegra import mapping
from ..audit.models import AlegraRef
from ..documents import Problem
from ..documents import StampAttempt
from ..documents import owner
from ..documents import problem_values
from ..documents import transition
from ..documents.states import CANCEL_PENDING
from ..documents.states import CANCELLED
from ..documents.states import DRAFT
from ..documents.states import REJECTED
from ..documents.states import STAMPED
from ..documents.states import STAMPING
from ..documents.states import UNKNOWN
from ..extensions import db
from ..invoices import archive
from ..invoices import sync
from ..settings import alegra as connection
from ..timeutil import utcnow
from .balances import earlier_applications
from .models import Payment

log = logging.getLogger(__name__)
DATA_REJECTIONS = {400, 404, 409, 422}
SAT_CODE = re.compile(r"CRP\d{5}|CFDI\d{5}")
# Which field of «Registrar pago» a relayed SAT code is about (pagos20.md §2).
FIELDS = {"CRP20212": "forma_pago", "CRP20214": "exchange_rate", "CRP20217": "amount",
          "CRP20218": "amount", "CRP20239": "amount", "CRP20244": "amount"}
BANK_REF = ("bank-accounts", "default")


@dataclass
class Outcome:
    """What happened to the payment, and a notice that did not fit a field."""

    payment: Payment
    notice: str | None = None


def _fail(payment, to, problem, message, field=None, ref=None, only_from=(STAMPING,)):
    transition(payment, to, only_from=only_from, **problem_values(problem, message, field, ref))


def _alegra_problem(err):
    found = SAT_CODE.search(err.message or "")
    code = found.group(0) if found else (str(err.code) if err.code else None)
    problem = Problem.SAT if found else Problem.ALEGRA
    return problem, err.message, FIELDS.get(code), code


def bank_account_id(client):
    """Alegra id of the account where payments arrive (cached after the first read)."""
    cached = db.session.get(AlegraRef, BANK_REF)
    if cached:
        return cached.alegra_id
    found = mapping.bank_account_id(api.list_bank_accounts(client))
    if found is None:
        raise sync.SetupMissing("Tu cuenta de Alegra no tiene ninguna cuenta de banco; créala "
                                "en Alegra → Bancos y vuelve a intentar.")
    db.session.add(AlegraRef(kind=BANK_REF[0], key=BANK_REF[1], alegra_id=found))
    db.session.commit()
    return found


def _recompute(payment):
    """Parcialidad and balances from the payments received before this one (under the claim)."""
    for app in payment.applications:
        earlier = earlier_applications(app.invoice_id, payment)
        app.num_parcialidad = 1 + len(earlier)
        app.saldo_anterior = app.invoice.total - sum((a.amount for a in earlier), 0)
        app.saldo_insoluto = app.saldo_anterior - app.amount
        if app.saldo_insoluto < 0:
            return (f"El pago deja en negativo el saldo de {app.invoice.number}: su saldo "
                    f"pendiente es {app.saldo_anterior:,.2f} (SAT CRP20244).")
    return None


def stamp(payment):
    """Register payment in Alegra and stamp its REP; return an Outcome."""
    previous = payment.status
    if not transition(payment, STAMPING, only_from=(DRAFT, REJECTED), commit=False,
                      **problem_values()):
        return Outcome(payment, notice="Este pago ya se está timbrando (o ya se timbró) en otra "
                                       "ventana; este es su estado actual.")
    marker = secrets.token_hex(10)
    attempt = StampAttempt.open_for(payment, marker, payment.version, owner=owner.me())
    overpaid = _recompute(payment)
    owner.hold(marker)
    db.session.commit()
    try:
        if overpaid:
            _not_sent(attempt)
            _fail(payment, REJECTED, Problem.SAT, overpaid, "amount", "CRP20244")
        else:
            _send(payment, attempt, previous)
    finally:
        owner.release(marker)
    return Outcome(payment)


def _not_sent(attempt):
    db.session.rollback()
    attempt.outcome, attempt.finished_at = "not_sent", utcnow()
    db.session.commit()


def _send(payment, attempt, previous):
    try:
        client = connection.make_client()
        contact_id = sync.ensure_contact(client, payment.customer)
        payload = mapping.payment_payload(
            payment, contact_id, bank_account_id(client),
            [(a.invoice.alegra_id, a.amount) for a in payment.applications], attempt.marker)
    except AlegraError as exc:
        _not_sent(attempt)
        problem, message, field, ref = _alegra_problem(exc)
        _fail(payment, REJECTED if exc.status in DATA_REJECTIONS else previous, problem,
              message, field, ref)
        return
    except (sync.SetupMissing, crypto.KeyProblem, connection.NotConfigured) as exc:
        _not_sent(attempt)
        _fail(payment, previous, Problem.CONFIGURATION, str(exc))
        return
    except Exception:  # noqa: BLE001 - a bug must not leave the payment in "stamping"
        log.exception("Preparing payment %s for Alegra failed", payment.id)
        _not_sent(attempt)
        _fail(payment, previous, Problem.INTERNAL, "Ocurrió un error inesperado antes de "
                                                   "enviar el pago a Alegra; no se creó nada.")
        return
    attempt.lookup_params = {"client_id": contact_id, "date": payment.paid_at.date().isoformat()}
    attempt.posted_at, attempt.total = utcnow(), payment.amount
    db.session.commit()
    timeout = current_app.config["ALEGRA_STAMP_TIMEOUT"]
    try:
        info = mapping.payment_from_alegra(api.create_payment(client, payload, timeout))
        if not info.uuid and info.id:
            # The reading where POST registers without stamping: stamp that same payment.
            attempt.alegra_id = info.id
            db.session.commit()
            info = mapping.payment_from_alegra(api.stamp_payment(client, info.id, timeout))
    except AlegraError as err:
        _after_failed_post(client, payment, attempt, previous, err)
        return
    _stamped(payment, attempt, info, client)


def _after_failed_post(client, payment, attempt, previous, err):
    if err.maybe_sent:
        attempt.outcome = "unknown"
        problem = Problem.TIMEOUT if err.kind == "timeout" else Problem.CONNECTION
        _fail(payment, UNKNOWN, problem, (
            f"{err.message} No sabemos si Alegra alcanzó a timbrar el complemento de pago. "
            f"Presiona «Verificar con Alegra»; no lo registres otra vez."))
        reconcile(payment, client)
        return
    attempt.outcome, attempt.finished_at = "rejected", utcnow()
    if err.status == 429:
        _fail(payment, previous, Problem.RATE_LIMITED, "Alegra recibió demasiadas solicitudes; "
                                                       "intenta de nuevo en un minuto.",
              ref="429")
        return
    problem, message, field, ref = _alegra_problem(err)
    _fail(payment, REJECTED if err.status in DATA_REJECTIONS else previous, problem, message,
          field, ref)


def _stamped(payment, attempt, info, client, only_from=(STAMPING, UNKNOWN)):
    attempt.outcome, attempt.finished_at = "stamped", utcnow()
    attempt.alegra_id, attempt.uuid = info.id, info.uuid
    if not transition(payment, STAMPED, only_from=only_from, alegra_id=info.id, uuid=info.uuid,
                      serie=info.serie, folio=info.folio, stamped_at=info.stamped_at,
                      **problem_values()):
        log.error("Payment %s was %s when its REP %s arrived", payment.id, payment.status,
                  info.uuid)
        return
    fetch_files(payment, client, info)
    from ..mail import service as mail
    mail.send_after_stamping("payment", payment)


def fetch_files(payment, client, info=None):
    """Download the REP's XML and PDF into the archive; a failure leaves them for later."""
    try:
        if info is None or not (info.xml_url and info.pdf_url):
            info = mapping.payment_from_alegra(api.get_payment(client, payment.alegra_id,
                                                               files=True))
        for kind, url in (("xml", info.xml_url), ("pdf", info.pdf_url)):
            if url and archive.read(payment, kind) is None:
                archive.save(payment, kind, client.download(url))
        db.session.commit()
        return True
    except AlegraError:
        log.warning("Could not archive the REP files of payment %s yet", payment.id)
        db.session.rollback()
        return False


def _sender_gone(payment):
    """True when no process can still be posting this payment (dead, or past the grace)."""
    grace = timedelta(seconds=current_app.config["RECONCILE_GRACE_SECONDS"])
    return all(owner.sender_dead(a.owner, a.marker) or
               utcnow() - (a.posted_at or a.started_at) > grace
               for a in payment.attempts() if a.outcome is None)


def reconcile(payment, client=None):
    """Resolve an unknown or cancel-pending payment by reading Alegra (never by posting)."""
    if payment.status == STAMPING and _sender_gone(payment):
        # The process that claimed it stopped (kill -9, power cut): find out by reading.
        for attempt in payment.attempts():
            if attempt.outcome is None:
                attempt.outcome = "unknown"
        _fail(payment, UNKNOWN, Problem.CONNECTION, (
            "La aplicación se detuvo mientras timbraba este complemento; se está verificando "
            "con Alegra si alcanzó a timbrarse."))
    if payment.status not in (UNKNOWN, CANCEL_PENDING):
        return payment
    try:
        client = client or connection.make_client()
        if payment.status == CANCEL_PENDING:
            _resolve_cancel(client, payment)
        else:
            _resolve_by_markers(client, payment)
    except (AlegraError, crypto.KeyProblem, connection.NotConfigured) as exc:
        db.session.rollback()
        log.info("Payment %s still unresolved: %s", payment.id, exc)
    return payment


def _resolve_by_markers(client, payment):
    attempts = [a for a in payment.attempts() if a.posted_at]
    by_marker = {a.marker: a for a in attempts}
    found = {}
    for query in {a.lookup for a in attempts if a.lookup}:
        params = json.loads(query)
        for row in api.list_payments(client, params["client_id"], params["date"]):
            info = mapping.payment_from_alegra(row)
            if info.marker in by_marker:
                found[by_marker[info.marker]] = info
    stamped = {a: i for a, i in found.items() if i.uuid}
    if stamped:
        keep = max(stamped, key=lambda a: a.id)
        _stamped(payment, keep, stamped[keep], client)
        return
    registered = {a: i for a, i in found.items() if i.id and i.status != "void"}
    if registered:
        # Alegra holds the payment but no REP yet: stamping that same payment cannot make a
        # second REP (Alegra stamps a payment once).
        attempt, info = max(registered.items(), key=lambda pair: pair[0].id)
        try:
            stamped_info = mapping.payment_from_alegra(api.stamp_payment(
                client, info.id, current_app.config["ALEGRA_STAMP_TIMEOUT"]))
        except AlegraError as err:
            if not err.maybe_sent:
                problem, message, field, ref = _alegra_problem(err)
                attempt.outcome = "rejected"
                _fail(payment, REJECTED, problem, message, field, ref, only_from=(UNKNOWN,))
            return
        _stamped(payment, attempt, stamped_info, client)
        return
    newest = max((a.posted_at for a in attempts if a.outcome in (None, "unknown")),
                 default=None)
    # Nothing was ever posted, or the last post is past the grace period: Alegra has none.
    if newest is None or utcnow() - newest > timedelta(
            seconds=current_app.config["RECONCILE_GRACE_SECONDS"]):
        for attempt in payment.attempts():
            if attempt.outcome in (None, "unknown"):
                attempt.outcome, attempt.finished_at = "not_found", utcnow()
        _fail(payment, DRAFT, Problem.NOT_CREATED, (
            "Alegra no registró este pago: no se emitió complemento. Ya puedes timbrarlo de "
            "nuevo."), only_from=(UNKNOWN,))
    else:
        payment.problem_code = Problem.IN_FLIGHT.value
        payment.problem_message = ("Alegra todavía no muestra este pago, pero el envío aún puede "
                                   "llegar. No lo registres otra vez: verifica en unos momentos.")
        db.session.commit()


def _resolve_cancel(client, payment):
    info = mapping.payment_from_alegra(api.get_payment(client, payment.alegra_id))
    if info.emission_status == mapping.CANCEL_WAITING:
        return
    if info.emission_status == mapping.CANCELLED:
        transition(payment, CANCELLED, only_from=(CANCEL_PENDING,), cancelled_at=utcnow(),
                   problem_message=None)
    elif info.emission_status in mapping.STAMPED_STATUSES:
        transition(payment, STAMPED, only_from=(CANCEL_PENDING,), **problem_values(
            Problem.CANCEL_REFUSED, "La cancelación no procedió: el receptor la rechazó o el "
                                    "SAT no la aceptó. El complemento sigue vigente."))


def cancel(payment, motive, replacement_uuid=None):
    """Ask Alegra to cancel a stamped REP with a SAT motive; return an Outcome."""
    if not transition(payment, CANCEL_PENDING, only_from=(STAMPED,), cancel_motive=motive,
                      cancel_replacement_uuid=replacement_uuid, cancel_requested_at=utcnow(),
                      **problem_values()):
        return Outcome(payment, notice="Solo un complemento timbrado se puede cancelar.")
    try:
        client = connection.make_client()
        body = api.void_payment(client, payment.alegra_id,
                                mapping.void_payload(motive, replacement_uuid))
    except (crypto.KeyProblem, connection.NotConfigured) as exc:
        _fail(payment, STAMPED, Problem.CONFIGURATION, str(exc), only_from=(CANCEL_PENDING,))
        return Outcome(payment)
    except AlegraError as err:
        if err.maybe_sent:
            payment.problem_message = ("No hubo respuesta de Alegra; la cancelación pudo "
                                       "haberse solicitado. Se verificará con Alegra.")
            db.session.commit()
        else:
            problem, message, field, ref = _alegra_problem(err)
            _fail(payment, STAMPED, problem, message, field, ref, only_from=(CANCEL_PENDING,))
        return Outcome(payment)
    if mapping.payment_from_alegra(body).emission_status == mapping.CANCELLED:
        transition(payment, CANCELLED, only_from=(CANCEL_PENDING,), cancelled_at=utcnow())
    return Outcome(payment)


def discardable(payment):
    """A payment with no REP that can ever appear: draft or rejected, every attempt closed."""
    return payment.status in (DRAFT, REJECTED) and all(
        a.outcome not in (None, "unknown") for a in payment.attempts())


def missing_files():
    """Payments with a REP whose XML or PDF is not archived yet (the queue's sweep fetches)."""
    return db.session.query(Payment).filter(
        Payment.status.in_((STAMPED, CANCEL_PENDING, CANCELLED)), Payment.alegra_id.isnot(None),
        Payment.xml_path.is_(None) | Payment.pdf_path.is_(None)).order_by(Payment.id).all()


def pending():
    """Payments that reconcile should look at."""
    return db.session.query(Payment).filter(
        Payment.status.in_((STAMPING, UNKNOWN, CANCEL_PENDING))).order_by(Payment.id).all()
