"""Stamping, reconciling and cancelling invoices through Alegra, exactly once.

The move to "stamping" is one guarded UPDATE (documents.transition) on the version the user
saw, so a double click, two tabs, a stale tab or two workers make at most one Alegra call,
and the payload is built from exactly the version that won. Every attempt gets its own
marker, kept forever in stamp_attempts and sent in Alegra's ``observations``; when an answer
is lost the invoice becomes "unknown" and is resolved only by reading Alegra under every
marker, never by posting again (alegra-api.md §6.4, §9).
"""
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import update

from .. import crypto
from .. import documents
from ..alegra import AlegraError
from ..alegra import api
from ..alegra import mapping
from ..documents import Problem
from ..documents import StampAttempt
from ..documents import owner
from ..documents import problem_values
from ..documents import transition
from ..extensions import db
from ..money import fmt as money_fmt
from ..settings import alegra as connection
from ..settings import diagnostic
from .. import timeutil
from ..timeutil import utcnow
from . import archive
from . import hints
from . import readiness
from . import sync
from .models import CANCEL_PENDING
from .models import CANCELLED
from .models import DRAFT
from .models import EDITABLE
from .models import QUEUED
from .models import REJECTED
from .models import STAMPED
from .models import STAMPING
from .models import UNKNOWN
from .models import Invoice
from .totals import compute

log = logging.getLogger(__name__)
# Alegra refused the data itself (not the credentials, the plan or the rate).
DATA_REJECTIONS = {400, 404, 409, 422}
# The SAT motive for a CFDI that should never have existed: an error, nothing replaces it.
DUPLICATE_MOTIVE = "02"
# How long reconcile keeps looking for a late CFDI of an attempt it concluded was not created.
LATE_WINDOW = timedelta(days=3)
# An attempt concluded "not found" whose draft was edited afterwards (service.save marks it).
EDITED_SINCE = "not_found_edited"
LATE_OUTCOMES = ("unknown", "not_found", EDITED_SINCE)
# When the queue's sweep looks again for an old attempt's late CFDI (ages of the attempt):
# often at first, then rarely. Reading at every 5-minute sweep for three days took Alegra's
# whole per-minute budget after a burst of failures (ATTACK3 Q8).
LATE_CHECKS = tuple(timedelta(minutes=m) for m in (5, 10, 20, 40, 90, 180, 360, 720, 1440,
                                                   2160, 2880, 3600, 4310))
VOID_IN_FLIGHT = "Solicitando la cancelación a Alegra…"
SAT_REJECTED = ("El SAT rechazó la factura (según Alegra). Revisa los datos del cliente y vuelve "
                "a timbrar.")
STALE_MESSAGE = ("Esta factura cambió en otra ventana o pestaña mientras la tenías abierta; "
                 "no se guardó ni se timbró nada de lo que enviaste. Este es su estado actual: "
                 "revísalo y vuelve a intentarlo.")


@dataclass
class Outcome:
    """What happened, for the page: the invoice plus messages that did not fit a field."""

    invoice: Invoice
    blocked: list = None   # readiness problems that kept us from calling Alegra
    notice: str = None     # e.g. "another tab is already stamping"
    stale: bool = False    # refused: based on an older version than the one stored


def grace_seconds(config=None):
    """How long after its POST an attempt may still turn into a CFDI in Alegra."""
    return (config or current_app.config)["RECONCILE_GRACE_SECONDS"]


def _set_problem(invoice, to, problem, message, field=None, ref=None, only_from=(STAMPING,)):
    return transition(invoice, to, only_from=only_from,
                      **problem_values(problem, message, field, ref))


def _alegra_problem(err):
    """(problem, message, field, ref) for an error Alegra answered with."""
    code, field, hint = hints.explain(err)
    problem = Problem.SAT if code and code.startswith("CFDI") else Problem.ALEGRA
    return problem, err.message + (f"\n{hint}" if hint else ""), field, code


def stamp(invoice, version):
    """Stamp version of an editable invoice in Alegra, in this thread; return an Outcome."""
    early = _before_claim(invoice, version)
    if early is not None:
        return early
    claimed, _unsent = _claim_and_send(invoice, version, EDITABLE, invoice.status)
    if not claimed:
        return _lost_claim(invoice)
    return Outcome(invoice)


def _before_claim(invoice, version, check=True, read=True):
    """What stops a claim before it is tried (an Outcome), or None: late CFDI, stale, not ready.

    read=False only when the caller has just read Alegra for this invoice (reconcile).
    """
    if read and _searchable(invoice):
        # An earlier attempt may have landed after we gave up on it: read before posting.
        reconcile(invoice)
        if not invoice.editable:
            return Outcome(invoice, stale=True, notice=(
                "Alegra ya tenía timbrada esta factura por un envío anterior que llegó tarde; "
                "se tomó ese CFDI y no se volvió a timbrar."))
    if invoice.version != version:
        return Outcome(invoice, notice=STALE_MESSAGE, stale=True)
    problems = check and (readiness.problems(invoice) or diagnostic.before_first_stamp())
    if problems:
        return Outcome(invoice, blocked=problems)
    return None


def _lost_claim(invoice):
    if invoice.editable:
        return Outcome(invoice, notice=STALE_MESSAGE, stale=True)
    return Outcome(invoice, stale=True, notice=(
        "Esta factura ya está en la cola o se está timbrando (o ya se timbró) en otra "
        "ventana; este es su estado actual."))


def _claim_and_send(invoice, version, only_from, previous):
    """Claim version (one guarded UPDATE to stamping) with a new attempt marker, then send.

    :return: (claimed, error): claimed is False when another tab, request or worker had
        already moved the invoice; error is a passing AlegraError that certainly kept the
        stamp from leaving (Alegra down, its limit), else None.
    """
    if not transition(invoice, STAMPING, version=version, only_from=only_from, commit=False,
                      **problem_values()):
        return False, None
    marker = secrets.token_hex(10)
    attempt = StampAttempt.open_for(invoice, marker, invoice.version, owner=owner.me())
    owner.hold(marker)
    db.session.commit()
    try:
        unsent = _send(invoice, attempt, previous)
    finally:
        owner.release(marker)
    return True, unsent


# -- the stamp queue -----------------------------------------------------------------------
QUEUE_DOWN = ("La cola de timbrado no respondió, así que la factura no quedó en cola y sigue "
              "como borrador; no se envió nada a Alegra. Intenta de nuevo en un momento.")


def enqueue(invoice, version, check=True, keep_place=False, read=True):
    """Check, then move draft|rejected → queued on the version the user saw, and hand it to
    the queue's workers; return an Outcome (at once: the stamp happens in a worker).

    check=False when the caller has just checked readiness (a bulk lot checks all first);
    keep_place when it goes back in line after its worker died (same queued_at); read=False
    when a reconcile of it has just read Alegra (no second listing before the claim).
    If the queue's store cannot take the task, the invoice goes back to draft and says so:
    nothing is left in the queue without a task to run it.
    """
    from .. import jobs

    early = _before_claim(invoice, version, check=check, read=read)
    if early is not None:
        return early
    place = {} if keep_place and invoice.queued_at else {"queued_at": utcnow()}
    if not transition(invoice, QUEUED, version=version, only_from=EDITABLE, **place,
                      **problem_values()):
        return _lost_claim(invoice)
    queued = invoice.version
    try:
        jobs.queue().stamp(invoice.id, queued, receptor(invoice))
    except Exception:  # noqa: BLE001 - any failure of the store means the same to the user
        log.exception("Could not enqueue the stamp of invoice %s", invoice.id)
        db.session.rollback()
        transition(invoice, DRAFT, version=queued, only_from=(QUEUED,), queued_at=None,
                   **problem_values(Problem.QUEUE, QUEUE_DOWN))
        return Outcome(invoice)
    if jobs.queue().huey.immediate:
        # Tests run tasks inline: the task's own session has changed the invoice since.
        db.session.expire_all()
        db.session.refresh(invoice)
    return Outcome(invoice)


def stamp_queued(invoice, version, seen_receptor=None):
    """The worker's half of a queued stamp: wait for Alegra's budget, claim, send.

    The claim is guarded on (queued, version), so a task that runs twice, a task of a
    version the user took out of the queue, or two workers holding the same invoice stamp
    at most once. seen_receptor (receptor() when it was queued): a customer whose fiscal
    data changed while the invoice waited sends it back to draft, never stamped to data the
    user did not see. Returns True if this call claimed it.
    """
    if (invoice.status, invoice.version) != (QUEUED, version):
        return False
    _wait_for_room()
    db.session.refresh(invoice)
    if seen_receptor is not None and seen_receptor != receptor(invoice):
        transition(invoice, DRAFT, version=version, only_from=(QUEUED,),
                   **problem_values(Problem.STALE, RECEPTOR_CHANGED))
        return False
    claimed, unsent = _claim_and_send(invoice, version, (QUEUED,), DRAFT)
    if claimed and unsent is not None:
        _retry_later(invoice, unsent, seen_receptor)
    return claimed


RECEPTOR_CHANGED = ("Los datos fiscales del cliente (RFC, nombre, régimen o código postal) o "
                    "la clave SAT o unidad de un producto cambiaron mientras la factura "
                    "esperaba en la cola, así que no se timbró: revísala y vuelve a timbrarla.")


def receptor(invoice):
    """A short digest of what a stamp reads from the catalog when it is sent, not from the
    invoice's own version: the customer's fiscal data and each product's SAT keys."""
    import hashlib

    customer = invoice.customer
    if customer is None:
        return None
    parts = [customer.id, customer.rfc, customer.name, customer.regimen, customer.cp]
    for line in invoice.lines:
        product = line.product
        parts += [product.id, product.clave_prod_serv, product.clave_unidad] if product \
            else [None]
    text = "|".join(str(v) for v in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _wait_for_room():
    """Outside a web request: wait, before claiming, until Alegra's window has room."""
    try:
        budget = connection.make_client().budget
    except (crypto.KeyProblem, connection.NotConfigured):
        return  # the send reports it at the invoice
    if budget is not None:
        budget.wait_for_room()
        db.session.commit()  # end the read transaction the wait may have begun


def _retry_later(invoice, err, seen_receptor=None):
    """Back in line (same place) after a passing failure, and say when it is tried again.

    Never inside a web request (tests run tasks inline): there the user reads the reason
    at once and presses again, as before the queue existed.
    """
    from flask import has_request_context

    from .. import jobs

    if has_request_context() or invoice.status != DRAFT:
        return
    delays = current_app.config["STAMP_RETRY_DELAYS"]
    since = invoice.queued_at
    tries = sum(1 for a in invoice.attempts()
                if a.outcome == "not_sent" and (since is None or a.started_at >= since))
    if tries > len(delays):
        return  # stays a draft with Alegra's reason, like a stamp that failed in the page
    limited = err.status == 429 or err.kind == "busy"
    # Only a refusal for the rate says when to come back; any other answer's reset header
    # is just the window's.
    delay = max(float(delays[tries - 1]), float(err.reset or 0) if limited else 0.0)
    when = _clock(utcnow() + timedelta(seconds=delay))
    message = (f"{err.message} No se envió la factura. Sigue en la cola y se intentará de "
               f"nuevo sola a las {when} (intento {tries + 1} de {len(delays) + 1}).")
    problem = Problem.RATE_LIMITED if limited else Problem.CONNECTION
    if transition(invoice, QUEUED, version=invoice.version, only_from=(DRAFT,),
                  **problem_values(problem, message)):
        try:
            jobs.queue().stamp.schedule((invoice.id, invoice.version, seen_receptor),
                                        delay=delay)
        except Exception:  # noqa: BLE001 - the periodic requeue gives it a task
            log.exception("Could not schedule the retry of invoice %s", invoice.id)


def unqueue(invoice, version):
    """«Quitar de la cola»: queued → draft, unless a worker already claimed it."""
    if transition(invoice, DRAFT, version=version, only_from=(QUEUED,), queued_at=None,
                  **problem_values()):
        return Outcome(invoice, notice="Se quitó de la cola; sigue como borrador y no se envió "
                                       "nada a Alegra.")
    if invoice.status == QUEUED:
        return Outcome(invoice, notice=STALE_MESSAGE, stale=True)
    return Outcome(invoice, stale=True, notice=(
        "Ya no estaba en la cola: el timbrado ya empezó o terminó. Este es su estado actual."))


def _send(invoice, attempt, previous):
    try:
        if (invoice.status, invoice.version) != (STAMPING, attempt.version):
            raise RuntimeError("the claimed version changed before its payload was built")
        client = connection.make_client(invoice_id=invoice.id)
        payload, lookup = _payload(client, invoice, attempt.marker)
    except AlegraError as exc:
        # Nothing was posted for this invoice yet: it stays editable, no folio was used.
        _not_sent(attempt)
        if exc.status == 429 or exc.kind == "busy":
            _set_problem(invoice, previous, Problem.RATE_LIMITED, _rate_message(exc))
            return exc
        problem, message, field, ref = _alegra_problem(exc)
        _set_problem(invoice, REJECTED if _rejects_data(exc) else previous,
                     problem, message, field, ref)
        return exc if _passing(exc) else None
    except (sync.SetupMissing, crypto.KeyProblem, connection.NotConfigured) as exc:
        _not_sent(attempt)
        _set_problem(invoice, previous, Problem.CONFIGURATION, str(exc))
        return
    except Exception:  # noqa: BLE001 - a bug must not leave the invoice stuck in "stamping"
        db.session.rollback()
        log.exception("Preparing invoice %s for Alegra failed", invoice.id)
        _not_sent(attempt)
        _set_problem(invoice, previous, Problem.INTERNAL, (
            "Ocurrió un error inesperado en esta aplicación antes de enviar la factura a "
            "Alegra; no se creó nada ni se usó folio. Intenta de nuevo."))
        return
    attempt.lookup_params = lookup
    attempt.posted_at = utcnow()
    attempt.total = invoice.total
    db.session.commit()
    try:
        body = api.create_and_stamp_invoice(
            client, payload, read_timeout=current_app.config["ALEGRA_STAMP_TIMEOUT"])
    except AlegraError as err:
        _after_failed_post(client, invoice, attempt, previous, err)
        return err if attempt.outcome == "not_sent" else None
    info = mapping.invoice_from_alegra(body)
    if info.uuid and info.state == mapping.S_STAMPED:
        _stamped(invoice, attempt, info, client)
    elif info.state == mapping.S_REJECTED:
        attempt.outcome, attempt.finished_at, attempt.alegra_id = "rejected", utcnow(), info.id
        _set_problem(invoice, REJECTED, Problem.SAT, SAT_REJECTED)
    else:
        # A 2xx that is not a stamped CFDI we can read (PENDING, no UUID, garbled): Alegra
        # may still hold one under this marker, so it is resolved by reading, like a timeout.
        attempt.outcome = "unknown"
        _set_problem(invoice, UNKNOWN, Problem.ALEGRA, (
            "Alegra respondió sin un folio fiscal (UUID) de una factura timbrada; no sabemos "
            "si quedó timbrada. Se verifica leyendo Alegra: presiona «Verificar con Alegra» y "
            "no la timbres de nuevo a ciegas."))
        reconcile(invoice, client)


def _not_sent(attempt):
    db.session.rollback()
    attempt.outcome, attempt.finished_at = "not_sent", utcnow()
    db.session.commit()


def _payload(client, invoice, marker):
    """The POST body from the invoice as stored (the claimed version), and its lookup."""
    contact_id = sync.ensure_contact(client, invoice.customer)
    totals = compute(invoice.lines)
    lines, retentions = [], {}
    for line, amounts in zip(invoice.lines, totals.lines):
        lines.append((line, sync.ensure_item(client, line.product), sync.tax_ids(client, line)))
        for kind, amount in amounts.retained.items():
            rid = sync.retention_id(client, kind, getattr(line, kind))
            retentions[rid] = retentions.get(rid, 0) + amount
    due = invoice.date + timedelta(days=invoice.customer.credit_days or 0)
    payload = mapping.invoice_payload(invoice, contact_id, lines, list(retentions.items()),
                                      sync.template_id(client), marker, due)
    return payload, api.invoice_lookup(contact_id, invoice.date)


def _after_failed_post(client, invoice, attempt, previous, err):
    if err.maybe_sent:
        # Alegra may have created and stamped it: find out by reading, never re-post.
        attempt.outcome = "unknown"
        problem = Problem.TIMEOUT if err.kind == "timeout" else Problem.CONNECTION
        _set_problem(invoice, UNKNOWN, problem, (
            f"{err.message} No sabemos si Alegra alcanzó a timbrarla. Presiona «Verificar "
            f"con Alegra»; no vuelvas a timbrarla a ciegas."))
        reconcile(invoice, client)
        return
    attempt.outcome, attempt.finished_at = "rejected", utcnow()
    if err.status == 429 or err.kind == "busy":  # Alegra's limit, or our budget of it
        attempt.outcome = "not_sent"
        _set_problem(invoice, previous, Problem.RATE_LIMITED, _rate_message(err), ref="429")
    elif err.kind == "connection":  # refused before it reached Alegra: nothing was sent
        attempt.outcome = "not_sent"
        _set_problem(invoice, previous, Problem.CONNECTION, (
            f"{err.message} No se envió la factura ni se usó folio."))
    else:
        # Credentials, plan or permission (401/402/403): nothing is wrong with the invoice.
        problem, message, field, ref = _alegra_problem(err)
        _set_problem(invoice, REJECTED if _rejects_data(err) else previous, problem,
                     message, field, ref)
        if err.code == 3051:
            # One reading of the evidence: the rejected invoice stays in Alegra (§3). Read
            # after the state is committed: no write is held while Alegra is called.
            sync.discard_rejected_leftover(client, invoice, attempt)


def _passing(err):
    """A failure that says nothing about the invoice and may pass: Alegra down or busy."""
    return err.kind in ("connection", "timeout", "unreadable", "busy") or \
        err.status == 429 or (err.status or 0) >= 500


def _rejects_data(err):
    """Did Alegra itself judge the data (not a proxy page, the credentials or the rate)?"""
    return err.kind == "http" and err.status in DATA_REJECTIONS


def _rate_message(err):
    wait = f" en {err.reset} s" if err.reset is not None else ""
    return (f"Alegra recibió demasiadas solicitudes; intenta de nuevo{wait}. No se creó la "
            f"factura.")


def _stamped(invoice, attempt, info, client, only_from=(STAMPING, UNKNOWN)):
    """Adopt info (found under attempt's marker) as the invoice's CFDI."""
    attempt.outcome, attempt.finished_at = "stamped", utcnow()
    attempt.alegra_id, attempt.uuid = info.id, info.uuid
    values = {"alegra_id": info.id, "uuid": info.uuid, "serie": info.serie,
              "folio": info.folio, "stamped_at": info.stamped_at, "alegra_total": info.total,
              **problem_values()}
    if info.total is not None and info.total != invoice.total:
        # Never silent: the CFDI is what counts, and the user must know it differs.
        log.warning("Invoice %s: Alegra's total %s differs from ours %s (attempt %s)",
                    invoice.id, info.total, invoice.total, attempt.marker)
        values.update(problem_values(Problem.TOTALS_DIFFER, (
            f"Alegra timbró un total de {money_fmt(info.total)} y aquí la factura suma "
            f"{money_fmt(invoice.total)}. El CFDI timbrado es el que vale: revisa el XML y, si "
            f"no es correcto, cancélalo y emite uno nuevo.")))
    if not transition(invoice, STAMPED, only_from=only_from, **values):
        db.session.rollback()
        level = logging.INFO if invoice.uuid == info.uuid else logging.ERROR
        log.log(level, "Invoice %s was %s when its CFDI %s arrived", invoice.id,
                invoice.status, info.uuid)
        return
    fetch_files(invoice, client, info)
    from ..mail import service as mail  # the setting «enviar al timbrar»
    mail.send_after_stamping("invoice", invoice)


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


# -- reading Alegra -----------------------------------------------------------------------
def reconcile(invoice, client=None, listings=None):
    """Resolve stuck, unknown and pending-cancel invoices by reading Alegra; find duplicates.

    listings (api.InvoiceListings) lets several invoices share what was listed for their
    customer and date: see reconcile_many.
    """
    if invoice.status == STAMPING and not _maybe_alive(invoice):
        # The process that claimed it is gone: no waiting, read Alegra now.
        for attempt in invoice.attempts():
            if attempt.outcome is None:
                attempt.outcome = "unknown"
        _set_problem(invoice, UNKNOWN, Problem.CONNECTION, (
            "La aplicación se detuvo mientras timbraba esta factura; se está verificando con "
            "Alegra si alcanzó a timbrarse."))
    voids = [a for a in invoice.attempts() if a.void_status == "requested"]
    if invoice.status not in (UNKNOWN, CANCEL_PENDING) and not _searchable(invoice) and \
            not voids:
        return invoice
    try:
        client = client or connection.make_client(invoice_id=invoice.id)
        for attempt in voids:
            _settle_void(client, invoice, attempt)
        if invoice.status == CANCEL_PENDING:
            _resolve_cancel(client, invoice)
        elif invoice.status == UNKNOWN or _searchable(invoice):
            _resolve_by_markers(client, invoice, listings or api.InvoiceListings(client))
    except (AlegraError, crypto.KeyProblem, connection.NotConfigured) as exc:
        db.session.rollback()
        log.info("Invoice %s still unresolved: %s", invoice.id, exc)
    return invoice


def _maybe_alive(invoice):
    """True while some open attempt's sender may still be working (another thread or host)."""
    open_attempts = [a for a in invoice.attempts() if a.outcome is None]
    return any(not owner.sender_dead(a.owner, a.marker) and not _past_grace(a)
               for a in open_attempts)


def _past_grace(attempt, at=None):
    sent = attempt.posted_at or attempt.started_at
    return (at or utcnow()) - sent > timedelta(seconds=grace_seconds())


def _in_flight(attempt, seen_at=None):
    """Could Alegra still create a CFDI for this attempt, as of the reading made at seen_at?"""
    if attempt.outcome not in (None, "unknown"):
        return False
    if attempt.posted_at is None and owner.sender_dead(attempt.owner, attempt.marker):
        return False  # its process died before posting: nothing was sent
    return not _past_grace(attempt, seen_at)


def _searchable(invoice):
    """Attempts whose CFDI could exist without the invoice knowing it (late answers)."""
    since = utcnow() - LATE_WINDOW
    return any(a.outcome in LATE_OUTCOMES and a.posted_at and a.posted_at > since
               for a in invoice.attempts())


def _lookups(invoice, attempts):
    """The listings (customer and date) under which these attempts' invoices would be."""
    params = [json.loads(text) for text in sorted({a.lookup for a in attempts if a.lookup})]
    if not params and invoice.customer is not None and invoice.customer.alegra_id:
        params = [api.invoice_lookup(invoice.customer.alegra_id, invoice.date)]
    return params


def _find(listings, invoice, attempts):
    """({attempt: InvoiceInfo} for every attempt whose marker Alegra holds, when read).

    "When" is the start of the oldest listing used: an attempt still in flight then may
    have landed after it, so it is not "not found" on that reading.
    """
    by_marker = {a.marker: a for a in attempts}
    found, seen_at = {}, utcnow()
    for query in _lookups(invoice, attempts):
        for marker, info in listings.find(query, by_marker).items():
            found[by_marker[marker]] = info
        seen_at = min(seen_at, listings.listed_at(query))
    return found, seen_at


def _resolve_by_markers(client, invoice, listings):
    attempts = [a for a in invoice.attempts() if a.posted_at or a.outcome in (None, "unknown")]
    found, seen_at = _find(listings, invoice, attempts)
    stamped = {a: i for a, i in found.items()
               if i.uuid and i.state in (mapping.S_STAMPED, mapping.S_CANCEL_PROCESS,
                                         mapping.S_CANCELLED)}
    # A CFDI of an attempt made before the user edited the draft is not what they see now:
    # it is never adopted, only reported (and offered for cancellation) as an extra one.
    adoptable = {a: i for a, i in stamped.items() if a.outcome != EDITED_SINCE}
    if invoice.uuid is None and adoptable:
        # Adopt the newest attempt's CFDI: it was built from the newest version.
        keep = max(adoptable, key=lambda a: a.id)
        only = (UNKNOWN, STAMPING, DRAFT, REJECTED)
        _stamped(invoice, keep, stamped.pop(keep), client, only_from=only)
    for attempt, info in stamped.items():
        if info.uuid != invoice.uuid:
            _duplicate(invoice, attempt, info)
    if invoice.status != UNKNOWN:
        db.session.commit()
        return
    rejected = [a for a, i in found.items() if i.state == mapping.S_REJECTED]
    if rejected:
        for attempt in rejected:
            attempt.outcome, attempt.finished_at = "rejected", utcnow()
        _set_problem(invoice, REJECTED, Problem.SAT, SAT_REJECTED, only_from=(UNKNOWN,))
        for attempt in rejected:
            sync.void_leftover(client, found[attempt])
        return
    waiting = [a for a in attempts if _in_flight(a, seen_at)]
    if waiting:
        until = max((a.posted_at or a.started_at) for a in waiting) + timedelta(
            seconds=grace_seconds())
        invoice.problem_code, invoice.problem_field = Problem.IN_FLIGHT.value, None
        invoice.problem_message = (
            "Alegra todavía no tiene registrada esta factura, pero el envío aún puede llegar. "
            "No la timbres de nuevo: presiona «Verificar con Alegra» en unos momentos. Si "
            f"para las {_clock(until)} no aparece, sabremos que no se creó.")
        db.session.commit()
        return
    for attempt in attempts:
        if attempt.outcome in (None, "unknown"):
            attempt.outcome, attempt.finished_at = "not_found", utcnow()
    # Found under our own marker but never stamped within the grace (PENDING): it is our
    # record, and once the user may stamp again it must not stay open (or be stamped later).
    unstamped = [i for a, i in found.items() if i.state == mapping.S_PENDING and not i.uuid]
    if not _set_problem(invoice, DRAFT, Problem.NOT_CREATED, (
            "La factura no apareció en Alegra en el tiempo en que un envío puede llegar, así "
            "que no se timbró. Ya puedes timbrarla de nuevo; antes de enviarla se vuelve a "
            "revisar Alegra por si el envío anterior llegara tarde."),
            only_from=(UNKNOWN,)):
        return
    for info in unstamped:  # after the state is committed: no write held during the call
        sync.void_leftover(client, info)


def _clock(moment):
    return timeutil.fmt(moment, "%H:%M:%S")


def _duplicate(invoice, attempt, info):
    """A second CFDI for this invoice exists in Alegra: say so, offer to cancel it."""
    if attempt.outcome != "duplicate":
        log.error("Invoice %s has a second CFDI %s (attempt %s) besides %s", invoice.id,
                  info.uuid, attempt.marker, invoice.uuid)
    attempt.outcome, attempt.finished_at = "duplicate", attempt.finished_at or utcnow()
    attempt.alegra_id, attempt.uuid = info.id, info.uuid
    if info.state == mapping.S_CANCELLED:
        attempt.void_status = "cancelled"
    invoice.problem_code, invoice.problem_field = Problem.DUPLICATE.value, None
    invoice.problem_message = duplicate_message(invoice)
    db.session.commit()


def duplicate_message(invoice):
    """What the invoice page and reconcile say about extra CFDIs."""
    extra = [a for a in invoice.attempts() if a.outcome == "duplicate"]
    open_ones = [a for a in extra if a.void_status != "cancelled"]
    uuids = ", ".join(a.uuid for a in open_ones) or "ninguno pendiente"
    if invoice.uuid is None:
        return (f"Un envío anterior de esta factura llegó tarde a Alegra y se timbró con datos "
                f"que ya cambiaste (CFDI {uuids}); no es lo que ves ahora, así que no se tomó. "
                f"Cancélalo con el motivo {DUPLICATE_MOTIVE} (comprobante emitido con errores "
                f"sin relación).")
    return (f"Alegra tiene {len(extra) + 1} CFDI para esta misma factura (un envío que no "
            f"respondió a tiempo sí se timbró). El válido es {invoice.uuid}; sobra: {uuids}. "
            f"Cancela el sobrante con el motivo {DUPLICATE_MOTIVE} (comprobante emitido con "
            f"errores sin relación).")


def _settle_void(client, invoice, attempt):
    """Read how the cancellation of an extra CFDI ended."""
    info = mapping.invoice_from_alegra(api.get_invoice(client, attempt.alegra_id))
    if info.state == mapping.S_CANCELLED:
        attempt.void_status = "cancelled"
    elif info.state == mapping.S_STAMPED:
        attempt.void_status = "refused"
    _duplicate_settled(invoice)


def _duplicate_settled(invoice):
    """Clear the duplicate problem once every extra CFDI is cancelled."""
    if all(a.void_status == "cancelled" for a in invoice.attempts() if a.outcome == "duplicate"):
        if invoice.problem_code == Problem.DUPLICATE.value:
            invoice.problem_code = invoice.problem_message = None
    else:
        invoice.problem_message = duplicate_message(invoice)
    db.session.commit()


def cancel_duplicate(invoice, attempt_id):
    """Ask Alegra to cancel an extra CFDI of invoice (motive 02); return an Outcome."""
    attempt = db.session.get(StampAttempt, attempt_id)
    if attempt is None or attempt.document_id != invoice.id or \
            attempt.document_type != Invoice.DOCUMENT_TYPE or attempt.outcome != "duplicate" \
            or attempt.void_status == "cancelled":
        return Outcome(invoice, notice="Ese CFDI sobrante ya no está pendiente de cancelar.")
    claimed = db.session.execute(
        update(StampAttempt).where(StampAttempt.id == attempt.id,
                                   StampAttempt.void_status.is_(None) |
                                   (StampAttempt.void_status == "refused"))
        .values(void_status="requesting").execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(attempt)
    if claimed.rowcount != 1:
        return Outcome(invoice, notice=(
            f"La cancelación del CFDI sobrante {attempt.uuid} ya se solicitó desde otra "
            f"ventana; este es su estado."))
    try:
        client = connection.make_client(invoice_id=invoice.id)
        body = api.void_invoice(client, attempt.alegra_id,
                                mapping.void_payload(DUPLICATE_MOTIVE))
    except (crypto.KeyProblem, connection.NotConfigured) as exc:
        _release_void(attempt)
        return Outcome(invoice, notice=str(exc))
    except AlegraError as err:
        if err.maybe_sent:
            attempt.void_status = "requested"  # it may have arrived: settled by reading
            db.session.commit()
            return Outcome(invoice, notice="No hubo respuesta de Alegra; la cancelación del "
                                           "CFDI sobrante pudo haberse solicitado. Se verificará.")
        _release_void(attempt)
        return Outcome(invoice, notice=f"Alegra no canceló el CFDI sobrante: {err.message}")
    state = mapping.invoice_from_alegra(body).state
    attempt.void_status = "cancelled" if state == mapping.S_CANCELLED else "requested"
    _duplicate_settled(invoice)
    return Outcome(invoice, notice=(
        f"Se pidió a Alegra cancelar el CFDI sobrante {attempt.uuid} con el motivo "
        f"{DUPLICATE_MOTIVE}." if attempt.void_status != "cancelled" else
        f"El CFDI sobrante {attempt.uuid} quedó cancelado."))


def _release_void(attempt):
    attempt.void_status = None
    db.session.commit()


def _resolve_cancel(client, invoice):
    info = mapping.invoice_from_alegra(api.get_invoice(client, invoice.alegra_id))
    if info.state in (mapping.S_CANCEL_PROCESS, mapping.S_UNKNOWN):
        return  # the SAT or the receiver has not answered yet (never read as refused)
    if info.state == mapping.S_CANCELLED:
        transition(invoice, CANCELLED, only_from=(CANCEL_PENDING,), cancelled_at=utcnow(),
                   **problem_values())
    elif info.state == mapping.S_STAMPED:
        requested = invoice.cancel_requested_at
        if requested is not None and utcnow() - requested < timedelta(seconds=grace_seconds()):
            return  # our void may not have reached Alegra yet: not a refusal (ATTACK F4)
        transition(invoice, STAMPED, only_from=(CANCEL_PENDING,), **problem_values(
            Problem.CANCEL_REFUSED, "La cancelación no se completó: Alegra sigue mostrando la "
                                    "factura como vigente (el receptor pudo rechazarla, o la "
                                    "solicitud no llegó). La factura sigue vigente; puedes "
                                    "solicitar la cancelación de nuevo."))


def cancel(invoice, motive, replacement_uuid=None):
    """Ask Alegra to cancel a stamped invoice with a SAT motive; return an Outcome."""
    # IN_FLIGHT until Alegra answers the void: a read before that is no refusal.
    if not transition(invoice, CANCEL_PENDING, only_from=(STAMPED,), cancel_motive=motive,
                      cancel_replacement_uuid=replacement_uuid, cancel_requested_at=utcnow(),
                      **problem_values(Problem.IN_FLIGHT, VOID_IN_FLIGHT)):
        return Outcome(invoice, notice="Solo una factura timbrada se puede cancelar; este es su "
                                       "estado actual.")
    try:
        client = connection.make_client(invoice_id=invoice.id)
        body = api.void_invoice(client, invoice.alegra_id,
                                mapping.void_payload(motive, replacement_uuid))
    except (crypto.KeyProblem, connection.NotConfigured) as exc:
        _set_problem(invoice, STAMPED, Problem.CONFIGURATION, str(exc),
                     only_from=(CANCEL_PENDING,))
        return Outcome(invoice)
    except AlegraError as err:
        if err.maybe_sent:
            invoice.problem_message = ("No hubo respuesta de Alegra; la cancelación pudo haberse "
                                       "solicitado. Se verificará con Alegra.")
            db.session.commit()
            return Outcome(invoice)
        else:
            problem, message, field, ref = _alegra_problem(err)
            _set_problem(invoice, STAMPED, problem, message, field, ref,
                         only_from=(CANCEL_PENDING,))
        return Outcome(invoice)
    if mapping.invoice_from_alegra(body).state == mapping.S_CANCELLED:
        transition(invoice, CANCELLED, only_from=(CANCEL_PENDING,), cancelled_at=utcnow(),
                   **problem_values())
    elif invoice.status == CANCEL_PENDING and invoice.problem_code == Problem.IN_FLIGHT.value:
        invoice.problem_code = invoice.problem_message = None  # Alegra has the request
        db.session.commit()
    return Outcome(invoice)


def pending(period=None):
    """Invoices that reconcile should look at (including late CFDIs of old attempts).

    With period (the queue's sweep), an old attempt's late CFDI is looked for only when one
    of LATE_CHECKS fell due within the last period, not on every sweep for three days.
    """
    late = db.select(StampAttempt.document_id).where(
        StampAttempt.document_type == Invoice.DOCUMENT_TYPE,
        StampAttempt.outcome.in_(LATE_OUTCOMES),
        StampAttempt.posted_at > utcnow() - LATE_WINDOW)
    if period is not None:
        late = _due(late, period)
    voids = db.select(StampAttempt.document_id).where(
        StampAttempt.document_type == Invoice.DOCUMENT_TYPE,
        StampAttempt.void_status == "requested")
    return db.session.query(Invoice).filter(
        Invoice.status.in_(documents.states.IN_PROGRESS) | Invoice.id.in_(late) |
        Invoice.id.in_(voids)
    ).order_by(Invoice.id).all()


def _due(late, period):
    """The ids of late whose attempt reached one of LATE_CHECKS within the last period."""
    now = utcnow()
    rows = db.session.execute(late.add_columns(StampAttempt.posted_at)).all()
    return sorted({document_id for document_id, posted_at in rows
                   if any(now - period < posted_at + check <= now for check in LATE_CHECKS)})


def reconcile_many(invoices=None):
    """Reconcile invoices (pending() by default) in one pass; return them.

    Invoices posted for the same customer on the same date share one listing (all its
    pages): 50 unknown invoices of 5 customers cost 5 listings, not 50. Each invoice is then
    resolved exactly as reconcile(invoice) resolves it alone, by its own attempt markers.
    """
    invoices = pending() if invoices is None else invoices
    if not invoices:
        return invoices
    try:
        listings = api.InvoiceListings(connection.make_client())
    except (crypto.KeyProblem, connection.NotConfigured) as exc:
        log.info("Reconcile skipped: %s", exc)
        return invoices
    for invoice in invoices:
        reconcile(invoice, listings=listings)
    return invoices


def missing_files():
    """Stamped invoices whose XML or PDF is not archived yet."""
    return db.session.query(Invoice).filter(
        Invoice.status.in_((STAMPED, CANCEL_PENDING, CANCELLED)),
        (Invoice.xml_path.is_(None)) | (Invoice.pdf_path.is_(None))).all()


def recover_at_start(app, sleep=time.sleep):
    """Resolve, right away, what a dead process left in "stamping" (serve start-up).

    Reads Alegra at once; while an attempt may still be in flight it reads again every few
    seconds until its grace period ends, so nobody has to press «Verificar».
    """
    with app.app_context():
        pause = max(1.0, grace_seconds() / 10)
        deadline = time.monotonic() + grace_seconds() + pause
        while True:
            waiting = 0
            for invoice in pending():
                if invoice.status in (STAMPING, UNKNOWN, CANCEL_PENDING):
                    reconcile(invoice)
                    waiting += invoice.status in (STAMPING, UNKNOWN)
            db.session.remove()
            if not waiting or time.monotonic() > deadline:
                return
            sleep(pause)
