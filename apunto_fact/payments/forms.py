"""«Registrar pago»: what the user types, parsed into values the rules and the REP use."""
import re
import secrets
from datetime import datetime
from datetime import time

from ..sat import catalogs as cat
from ..sat import rules

CURRENCIES = ("MXN", "USD", "EUR")
APPLY = re.compile(r"apply-([0-9]{1,9})")
ID = re.compile(r"[0-9]{1,9}")
MAX_INVOICES = 100


def row_id(raw):
    """A database id typed in a URL or form, or 0 (found nowhere) when it is not one."""
    text = (raw or "").strip()
    return int(text) if ID.fullmatch(text) else 0


def blank(invoice=None, balance=None):
    """The form as it first shows: now (a payment is never in the future), a fresh token."""
    from .service import local_now

    now = local_now()
    values = {"paid_date": now.date().isoformat(), "paid_time": now.strftime("%H:%M"),
              "forma_pago": "03",
              "currency": "MXN", "exchange_rate": "", "amount": "", "operation_number": "",
              "cta_ordenante": "", "cta_beneficiario": "",
              "form_token": secrets.token_urlsafe(16)}
    if invoice is not None and balance is not None:
        values["amount"] = f"{balance:.2f}"
        values[f"apply-{invoice.id}"] = f"{balance:.2f}"
    return values


def parse(form):
    """(data for sat.rules.check_rep_payment, {invoice_id: amount}, typed values, errors)."""
    typed = {k: (v or "")[:200] for k, v in form.items()}
    findings = rules.Findings()
    data = {"forma_pago": typed.get("forma_pago", ""),
            "cta_ordenante": re.sub(r"[\s-]", "", typed.get("cta_ordenante", "")).upper(),
            "cta_beneficiario": re.sub(r"[\s-]", "", typed.get("cta_beneficiario", "")).upper(),
            "currency": typed.get("currency") if typed.get("currency") in CURRENCIES else "MXN",
            "operation_number": typed.get("operation_number", "").strip()}
    try:
        day = datetime.strptime(typed.get("paid_date", ""), "%Y-%m-%d").date()
        hour = datetime.strptime(typed.get("paid_time") or "12:00", "%H:%M").time() \
            if typed.get("paid_time") else time(12, 0)
        data["paid_at"] = datetime.combine(day, hour)
    except ValueError:
        data["paid_at"] = None
        findings.error("paid_at", "Escribe la fecha y la hora del pago.")
    data["amount"] = rules.parse_amount(typed.get("amount"), findings, "amount",
                                        decimals=2, what="El monto")
    if typed.get("exchange_rate", "").strip():
        data["exchange_rate"] = rules.parse_amount(typed["exchange_rate"], findings,
                                                   "exchange_rate", decimals=6,
                                                   what="El tipo de cambio")
    else:
        data["exchange_rate"] = None
    if data["forma_pago"] not in cat.FORMAS_PAGO:
        findings.error("forma_pago", "Elige la forma de pago.")
    operation = data["operation_number"]
    if len(operation) > 100 or "|" in operation or rules.control_characters(operation):
        findings.error("operation_number", "El número de operación admite hasta 100 "
                                           "caracteres, sin «|».")
    amounts = {}
    for key, value in form.items():
        match = APPLY.fullmatch(key)
        if match and (value or "").strip():
            amount = rules.parse_amount(value, findings, key, decimals=2, what="El monto "
                                                                               "aplicado")
            if amount is not None and amount > 0:
                amounts[int(match.group(1))] = amount
    if len(amounts) > MAX_INVOICES:
        findings.error("amount", f"Un pago se aplica a {MAX_INVOICES} facturas como máximo.")
    return data, amounts, typed, findings.errors
