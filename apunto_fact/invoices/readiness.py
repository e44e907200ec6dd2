"""Can this invoice be stamped now? Every reason it cannot, each with a place to fix it."""
from dataclasses import dataclass

from flask import url_for

from ..alegra import mapping
from ..sat import rules
from ..settings import alegra
from ..settings import company
from .. import timeutil
from .models import LINE_FIELDS


@dataclass(frozen=True)
class Problem:
    """One blocking reason, in Spanish, with the field it concerns and a link to fix it."""

    field: str
    message: str
    link: str | None = None


def _line_data(line):
    return {name: getattr(line, name) for name in LINE_FIELDS}


def problems(invoice, today=None):
    """Return the Problems that block stamping (empty when it can go to Alegra).

    invoice is a stored Invoice or the editor's parsed value (editor.Draft): same fields.
    """
    found = []
    conn = alegra.connection()
    if conn.status != "connected":
        found.append(Problem("alegra", "La conexión con Alegra no está verificada; pruébala en "
                                       "Configuración.", url_for("settings.alegra")))
    emisor = company.get()
    if emisor is None or rules.check_company(_fields(emisor)).errors:
        found.append(Problem("company", "Faltan o están mal los datos fiscales de tu empresa.",
                             url_for("settings.company_settings")))
    customer = invoice.customer
    if customer is None:
        found.append(Problem("customer_id", "Elige el cliente."))
    else:
        checks = rules.check_customer(_fields(customer), emisor.cp if emisor else None)
        for message in checks.errors.values():
            found.append(Problem("customer", f"Cliente: {message}",
                                 url_for("customers.edit", customer_id=customer.id)))
    header = rules.check_invoice_header(
        {"date": invoice.date, "currency": invoice.currency,
         "observations": invoice.observations, "exchange_rate": invoice.exchange_rate,
         "uso_cfdi": invoice.uso_cfdi,
         "metodo_pago": invoice.metodo_pago, "forma_pago": invoice.forma_pago},
        customer, today or timeutil.today())
    found += [Problem(field, message) for field, message in header.errors.items()]
    found += [Problem(field, message) for field, message in mapping.refusals(
        customer, invoice.forma_pago)]
    found += [Problem(field, message) for field, message in rules.check_global_info(
        {"periodicidad": invoice.global_periodicidad, "meses": invoice.global_meses,
         "anio": invoice.global_anio, "uso_cfdi": invoice.uso_cfdi}, customer,
        emisor.cp if emisor else None, today or timeutil.today(),
        emisor.regimen if emisor else None).errors.items()]
    if not invoice.lines:
        found.append(Problem("lines", "Agrega al menos un concepto."))
    for number, line in enumerate(invoice.lines, start=1):
        if line.product is None:
            found.append(Problem("lines", f"Concepto {number}: el producto ya no existe en el "
                                          f"catálogo; quítalo y agrégalo de nuevo."))
        for message in rules.check_line(_line_data(line)).errors.values():
            found.append(Problem("lines", f"Concepto {number}: {message}"))
    return found


def _fields(record):
    return {c.name: getattr(record, c.name) for c in record.__table__.columns}
