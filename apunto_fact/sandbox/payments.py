"""Sandbox payments received (REP), bank accounts and e-mail sending (alegra-evidence.md §4).

Registered on the same /api/v1 blueprint as the rest of the contract. A payment applies to
invoices at once (their ``totalPaid``/``balance`` move, as in Alegra); its stamp follows the
SAT's Pagos 2.0 rules (pagos20.md) strictly, since Alegra's own checks are not documented.
Readings left open by the evidence are switches under /_sandbox/payments:
``stamp_on_post`` (POST /payments honours stamp.generateStamp, or only /payments/{id}/stamp).
"""
import re
import secrets
import time
import uuid as uuidlib
from datetime import date
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import abort
from flask import jsonify
from flask import request

from ..alegra.mapping import PAYMENT_CODES
from ..alegra.mapping import REGIME_CODES
from ..payments import amounts as pay
from ..sat import catalogs as cat
from . import payment_documents
from .api import admin
from .api import bp
from .api import paginate
from .api import state
from .resources import Invalid
from .resources import StampRejected
from .resources import body
from .resources import decimal
from .resources import money
from .resources import settings
from .resources import api_view
from .resources import store

BANK_ACCOUNTS = [
    {"name": "Banco principal", "type": "bank", "description": "Cuenta de cheques"},
    {"name": "Caja general", "type": "cash", "description": "Efectivo"},
]
IN_FORCE = ("STAMPED_AND_ACCEPTED", "CANCELLED_AND_WAITING_RESPONSE")


def behaviour():
    """Switches for readings the evidence leaves open."""
    return state().setdefault("payments", {"stamp_on_post": True})


def _now():
    return datetime.now(ZoneInfo("America/Mexico_City")).replace(microsecond=0)


def _seed_bank_accounts():
    if not store().meta("bank_accounts_seeded"):
        for row in BANK_ACCOUNTS:
            store().insert("bank-accounts", {**row, "status": "active"})
        store().set_meta("bank_accounts_seeded", True)


# -- bank accounts ------------------------------------------------------------------------
@bp.get("/bank-accounts")
def list_bank_accounts():
    """List the account's banks and cash boxes."""
    _seed_bank_accounts()
    return paginate("bank-accounts", store().all("bank-accounts"))


@bp.post("/bank-accounts")
def create_bank_account():
    """Create a bank account (name required)."""
    _seed_bank_accounts()
    data = body()
    name = str(data.get("name") or "").strip()
    if not name:
        raise Invalid("El campo name es obligatorio.")
    row = {"name": name[:100], "type": data.get("type") or "bank",
           "description": str(data.get("description") or "")[:200], "status": "active"}
    return jsonify(store().insert("bank-accounts", row)), 201


# -- payments -----------------------------------------------------------------------------
def _payment_date(data):
    raw = str(data.get("date") or "")
    if not raw:
        raise Invalid("El campo date es obligatorio")
    try:
        # Real clients send a date or an ISO date-time (evidence §5): take both.
        if len(raw) > 10:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00")).replace(tzinfo=None)
            return moment.date(), moment.strftime("%Y-%m-%dT%H:%M:%S")
        day = date.fromisoformat(raw)
    except ValueError:
        raise Invalid("El campo date debe tener el formato yyyy-MM-dd.") from None
    # No time given: the SAT's guide says 12:00:00 (pagos20.md §1).
    return day, f"{day.isoformat()}T12:00:00"


def _applications(data, contact, total):
    raw = data.get("invoices")
    if not isinstance(raw, list) or not raw:
        raise Invalid("El campo invoices es obligatorio para un pago de facturas.")
    applied, seen = [], set()
    for row in raw:
        invoice = store().get("invoices", row.get("id") if isinstance(row, dict) else row)
        if invoice is None:
            raise Invalid("Una de las facturas del pago no existe.")
        if invoice["id"] in seen:
            raise Invalid("Una factura aparece dos veces en el pago.")
        seen.add(invoice["id"])
        if invoice["client"]["id"] != contact["id"]:
            raise Invalid(f"La factura {invoice['id']} es de otro cliente.")
        if invoice.get("emissionStatus") not in ("STAMPED_AND_ACCEPTED", "PENDING") or \
                invoice.get("status") == "void":
            raise Invalid(f"La factura {invoice['id']} está anulada o cancelada.")
        amount = decimal(row.get("amount") if isinstance(row, dict) else None, "amount")
        if amount <= 0:
            raise Invalid("El monto aplicado a cada factura debe ser mayor que cero.")
        if amount > Decimal(invoice["balance"]):
            raise Invalid(f"El monto aplicado a la factura {invoice['id']} es mayor que su "
                          f"saldo pendiente ({invoice['balance']}).")
        applied.append({"id": invoice["id"], "amount": money(amount)})
    if sum((Decimal(a["amount"]) for a in applied), Decimal(0)) > total:
        raise Invalid("La suma aplicada a las facturas supera el monto del pago.")
    return applied


def _build_payment(data):
    if data.get("type", "in") != "in":
        raise Invalid("Solo se emulan pagos recibidos (type in).")
    paid_on, fecha_pago = _payment_date(data)
    client = data.get("client")
    contact = store().get("contacts", client.get("id") if isinstance(client, dict) else client)
    if contact is None:
        raise Invalid("El campo client es obligatorio y debe ser un contacto existente.", 3003)
    bank = data.get("bankAccount")
    _seed_bank_accounts()
    account = store().get("bank-accounts", bank.get("id") if isinstance(bank, dict) else bank)
    if account is None:
        raise Invalid("El campo bankAccount es obligatorio y debe ser una cuenta existente.")
    total = decimal(data.get("amount"), "amount")
    if total <= 0:
        raise Invalid("El monto del pago debe ser mayor que cero.")
    if PAYMENT_CODES.get(data.get("paymentMethod")) is None:
        raise Invalid("El campo paymentMethod no es una forma de pago válida.")
    currency = data.get("currency") or {"code": "MXN", "exchangeRate": 1}
    if currency.get("code", "MXN") != "MXN":
        rate = decimal(currency.get("exchangeRate") or 0, "currency.exchangeRate")
        if rate <= 0:
            raise Invalid("Para una moneda distinta de MXN el tipo de cambio es obligatorio.")
        currency = {"code": currency["code"], "exchangeRate": f"{rate}"}
    else:
        currency = {"code": "MXN", "exchangeRate": 1}
    applied = _applications(data, contact, total)
    return contact, {
        "date": paid_on.isoformat(), "type": "in",
        "client": {"id": contact["id"], "name": contact["name"],
                   "identification": contact["identification"]},
        "amount": money(total), "bankAccount": {"id": account["id"], "name": account["name"],
                                                "type": account["type"]},
        "paymentMethod": data["paymentMethod"], "currency": currency, "invoices": applied,
        "observations": str(data.get("observations") or "")[:500],
        "numOperation": str(data.get("numOperation") or "")[:100] or None,
        "payerAccount": str(data.get("payerAccount") or "")[:50] or None,
        "beneficiaryAccount": str(data.get("beneficiaryAccount") or "")[:50] or None,
        "status": "open", "emissionStatus": "PENDING",
        "_fechaPago": fecha_pago, "_cancelAttempts": 0, "_balancesApplied": False,
    }


def _move_balances(payment, sign):
    """Apply (+1) or undo (−1) the payment on its invoices' totalPaid and balance."""
    for row in payment["invoices"]:
        invoice = store().get("invoices", row["id"])
        paid = Decimal(invoice.get("totalPaid") or 0) + sign * Decimal(row["amount"])
        invoice.update(totalPaid=money(paid), balance=money(Decimal(invoice["total"]) - paid))
        store().put("invoices", invoice)
    payment["_balancesApplied"] = sign > 0


def _related(payment, contact):
    """The DoctoRelacionado of each invoice, from the payments stamped before this one."""
    related = []
    earlier = [p for p in store().all("payments")
               if p["id"] != payment.get("id") and p.get("emissionStatus") in IN_FORCE]
    for row in payment["invoices"]:
        invoice = store().get("invoices", row["id"])
        if invoice.get("emissionStatus") != "STAMPED_AND_ACCEPTED":
            raise StampRejected("CRP20239", f"El documento relacionado {invoice['id']} no "
                                            f"está vigente ante el SAT.")
        if invoice.get("paymentType") != "PPD":
            # Pagos 2.0 does not check it; the law does (pagos20.md §1): PUE takes no REP.
            raise StampRejected("CRP20239", "El documento relacionado es PUE: no admite "
                                            "complemento de pago (canApplyREP=false).")
        before = [Decimal(r["amount"]) for p in earlier for r in p["invoices"]
                  if r["id"] == invoice["id"]]
        xml = store().file(invoice["_files"]["xml"])
        traslados, retenciones, objeto = pay.invoice_taxes(xml)
        doc = pay.Document(
            uuid=invoice["uuid"], serie=invoice["numberTemplate"]["prefix"],
            folio=str(invoice["numberTemplate"]["number"]),
            currency=invoice["currency"]["code"], total=Decimal(invoice["total"]),
            objeto_imp=objeto, traslados=traslados, retenciones=retenciones,
            paid_before=sum(before, Decimal(0)), payments_before=len(before))
        equivalence = pay.equivalence(
            payment["currency"]["code"], Decimal(str(payment["currency"]["exchangeRate"])),
            doc.currency, Decimal(str(invoice["currency"].get("exchangeRate") or 1)))
        rel = pay.apply(doc, Decimal(row["amount"]) * equivalence, equivalence)
        if rel.saldo_insoluto < 0:
            raise StampRejected("CRP20244", "El valor del campo ImpSaldoInsoluto debe ser "
                                            "mayor o igual a cero.")
        related.append(rel)
    return related


def _stamp_payment(payment, contact):
    forma = PAYMENT_CODES[payment["paymentMethod"]]
    if forma == "99":
        raise StampRejected("CRP20212", "El campo FormaDePagoP no debe contener el valor '99'.")
    now = _now()
    if payment["_fechaPago"] > now.strftime("%Y-%m-%dT%H:%M:%S"):
        raise StampRejected("FechaPago", "La fecha de pago no puede ser posterior a la fecha "
                                         "de emisión del comprobante (guía de llenado, "
                                         "preguntas 11 y 12).")
    related = _related(payment, contact)
    counter = int(store().meta("payment_next_number", 1))
    store().set_meta("payment_next_number", counter + 1)
    stamp_uuid = str(uuidlib.uuid4()).upper()
    payment.update({
        "numberTemplate": {"prefix": "P", "number": str(counter), "fullNumber": f"P{counter}"},
        "datetime": now.strftime("%Y-%m-%d %H:%M:%S"),
        "emissionStatus": "STAMPED_AND_ACCEPTED", "uuid": stamp_uuid,
        "stamp": {"uuid": stamp_uuid, "stampDate": now.strftime("%Y-%m-%d %H:%M:%S"),
                  "version": "4.0"},
        "_sat": {"formaPago": forma, "fechaPago": payment["_fechaPago"]},
        "_files": {"pdf": secrets.token_urlsafe(16), "xml": secrets.token_urlsafe(16)},
        "_rep": [{"invoice": r.document.uuid, "parcialidad": r.num_parcialidad,
                  "saldoAnterior": f"{r.saldo_anterior}", "pagado": f"{r.pagado}",
                  "saldoInsoluto": f"{r.saldo_insoluto}"} for r in related],
    })
    company = store().get("company", 1)
    regimen = REGIME_CODES[contact["regime"]]
    store().put_file(payment["_files"]["xml"],
                     payment_documents.rep_xml(payment, company, contact, regimen, related))
    store().put_file(payment["_files"]["pdf"],
                     payment_documents.rep_pdf(payment, company, contact, regimen, related))


def _settle(payment):
    """A waiting cancellation is decided on the next read after the delay (as invoices)."""
    requested = payment.get("_cancelRequestedAt")
    if payment.get("emissionStatus") != "CANCELLED_AND_WAITING_RESPONSE" or requested is None:
        return payment
    if time.time() - requested < settings()["cancel_delay"]:
        return payment
    if settings()["cancel_outcome"] == "refuse":
        payment.update(emissionStatus="STAMPED_AND_ACCEPTED", status="open",
                       _cancelRequestedAt=None)
    else:
        payment["emissionStatus"] = "STAMPED_AND_CANCELLED"
        if payment["_balancesApplied"]:
            _move_balances(payment, -1)
    return store().put("payments", payment)


def _public(payment):
    return api_view(_settle(payment))


@bp.post("/payments")
def create_payment():
    """Register a received payment; stamp its REP in the same call when asked and allowed."""
    data = body()
    contact, payment = _build_payment(data)
    if (data.get("stamp") or {}).get("generateStamp") and behaviour()["stamp_on_post"]:
        _stamp_payment(payment, contact)  # a rejected stamp saves nothing (as invoices)
    _move_balances(payment, +1)
    saved = store().insert("payments", payment)
    return jsonify(_public(saved)), 201


@bp.post("/payments/<payment_id>/stamp")
def stamp_payment(payment_id):
    """Stamp the REP of a registered payment (no body needed, CLI)."""
    payment = store().get("payments", payment_id) or abort(404)
    if payment["emissionStatus"] != "PENDING" or payment["status"] == "void":
        raise Invalid("El pago ya fue timbrado o está anulado.")
    _stamp_payment(payment, store().get("contacts", payment["client"]["id"]))
    return jsonify(_public(store().put("payments", payment)))


@bp.get("/payments")
def list_payments():
    """List payments: type, client_id and date filters."""
    rows = [_settle(p) for p in store().all("payments")]
    args = request.args
    if args.get("type"):
        rows = [r for r in rows if r["type"] == args["type"]]
    if args.get("client_id"):
        rows = [r for r in rows if r["client"]["id"] == args["client_id"]]
    if args.get("date"):
        rows = [r for r in rows if r["date"] == args["date"]]
    return paginate("payments", [_public(r) for r in rows])


@bp.get("/payments/<payment_id>")
def get_payment(payment_id):
    """Return one payment; fields=pdf,xml adds the file URLs."""
    return jsonify(_public(store().get("payments", payment_id) or abort(404)))


@bp.post("/payments/<payment_id>/void")
def void_payment(payment_id):
    """Void: an unstamped payment at once; a stamped REP asks the SAT with a motive."""
    payment = store().get("payments", payment_id) or abort(404)
    data = body() if request.data else {}
    motive = next((str(data[k]) for k in ("motive", "reason", "cause") if data.get(k)), None)
    if payment["emissionStatus"] == "PENDING":
        if payment["status"] != "void" and payment["_balancesApplied"]:
            _move_balances(payment, -1)
        payment["status"] = "void"
        return jsonify(_public(store().put("payments", payment)))
    if payment["emissionStatus"] != "STAMPED_AND_ACCEPTED":
        raise Invalid("El pago ya está cancelado o en proceso de cancelación.")
    if motive not in cat.MOTIVOS_CANCELACION:
        raise Invalid("Indica el motivo de cancelación del SAT (01, 02, 03 o 04).")
    if payment["_cancelAttempts"] >= 5:
        raise Invalid("Se alcanzó el máximo de 5 intentos de cancelación para este documento.")
    payment.update(status="void", emissionStatus="CANCELLED_AND_WAITING_RESPONSE",
                   cancelMotive=motive, _cancelRequestedAt=time.time(),
                   _cancelAttempts=payment["_cancelAttempts"] + 1)
    return jsonify(_public(store().put("payments", payment)))


@bp.before_request
def invoice_with_payments_in_force():
    """An invoice whose REPs are in force is «No cancelable» (pagos20.md §4)."""
    if request.method != "POST" or request.endpoint != "sandbox_api.void_invoice":
        return None
    invoice_id = str(request.view_args.get("invoice_id"))
    for payment in store().all("payments"):
        if _settle(payment).get("emissionStatus") in IN_FORCE and \
                any(r["id"] == invoice_id for r in payment["invoices"]):
            raise Invalid("La factura no es cancelable: tiene complementos de pago vigentes. "
                          "Cancela primero los complementos de pago.")
    return None


# -- e-mail -------------------------------------------------------------------------------
EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")


@bp.post("/<any(invoices, payments):kind>/<doc_id>/email")
def send_email(kind, doc_id):
    """'Send' a stamped document by e-mail: recorded, so tests can read what went out."""
    document = store().get(kind, doc_id) or abort(404)
    if kind == "payments":
        document = _settle(document)
    data = body()
    emails = data.get("emails")
    if isinstance(emails, str):
        emails = [e for e in re.split(r"[,;\s]+", emails) if e]
    if not isinstance(emails, list) or not emails:
        raise Invalid("El campo emails es obligatorio.")
    bad = [e for e in emails if not isinstance(e, str) or not EMAIL.fullmatch(e)]
    if bad:
        raise Invalid(f"El correo {bad[0]} no es válido.")
    if document.get("emissionStatus") != "STAMPED_AND_ACCEPTED":
        raise Invalid("Solo se pueden enviar documentos timbrados y vigentes.")
    store().insert("emails", {"kind": kind, "documentId": document["id"], "emails": emails,
                              "uuid": document.get("uuid"), "at": time.time()})
    return jsonify({"code": 200, "message": "El documento fue enviado por correo."})


@admin.get("/emails")
def sent_emails():
    """What the sandbox 'sent' (not part of Alegra's API)."""
    return jsonify(store().all("emails"))


@admin.post("/payments")
def payment_switches():
    """Flip the payment readings (stamp_on_post)."""
    data = request.get_json(force=True, silent=True) or {}
    settings_now = behaviour()
    if "stamp_on_post" in data:
        settings_now["stamp_on_post"] = bool(data["stamp_on_post"])
    return jsonify(settings_now)
