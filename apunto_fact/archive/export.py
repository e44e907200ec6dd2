"""The month's archive: every stamped XML and PDF of a month plus a register CSV, streamed.

Nothing is read from Alegra: the files come from the local archive (instance/archivo), so the
export works offline. The ZIP is written entry by entry into a sink that hands out its bytes
as they are produced, so a month of thousands of invoices never sits in memory.
"""
import csv
import io
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app

from ..extensions import db
from ..invoices import archive as files
from ..invoices.models import CANCEL_PENDING
from ..invoices.models import CANCELLED
from ..invoices.models import STAMPED
from ..invoices.models import Invoice
from ..invoices.totals import compute

MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
ARCHIVED_STATES = (STAMPED, CANCEL_PENDING, CANCELLED)
CFDI = "{http://www.sat.gob.mx/cfd/4}"
TAX_CODES = {"002": "iva", "003": "ieps"}
ZERO = Decimal("0.00")
# tipo: I = factura (ingreso), P = complemento de pago (REP).
HEADERS = ["tipo", "fecha", "serie-folio", "UUID", "RFC", "razón social", "subtotal",
           "descuento", "IVA", "IEPS", "retenciones", "total", "moneda", "método", "estado",
           "pagado", "saldo", "archivo XML", "archivo PDF"]
REGISTER = "registro.csv"
CHUNK = 64 * 1024
# Cells Excel would run as a formula are prefixed with an apostrophe (shown as text).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class BadMonth(ValueError):
    """The month is not YYYY-MM."""


def parse_month(text):
    """Return (first day, first day of next month) of a YYYY-MM month."""
    match = MONTH.fullmatch((text or "").strip())
    if not match:
        raise BadMonth("Indica el mes como AAAA-MM, por ejemplo 2026-03.")
    year, month = int(match.group(1)), int(match.group(2))
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def zip_name(month):
    """File name of a month's archive."""
    return f"apunto-fact-{month}.zip"


@dataclass
class Amounts:
    """The register's amounts of one CFDI."""

    fecha: str
    subtotal: Decimal
    descuento: Decimal
    iva: Decimal
    ieps: Decimal
    retenciones: Decimal
    total: Decimal
    moneda: str


def amounts_from_xml(content):
    """Read the register amounts from a CFDI 4.0 XML (the document of record)."""
    root = ET.fromstring(content)
    taxes = {"iva": ZERO, "ieps": ZERO}
    summary = root.find(f"{CFDI}Impuestos")
    # The summary's Traslados when present; else the conceptos' (the summary is their sum).
    nodes = list(summary.iterfind(f"{CFDI}Traslados/{CFDI}Traslado")) \
        if summary is not None else []
    if not nodes:
        nodes = root.iterfind(f"{CFDI}Conceptos/{CFDI}Concepto/{CFDI}Impuestos/"
                              f"{CFDI}Traslados/{CFDI}Traslado")
    for node in nodes:
        kind = TAX_CODES.get(node.get("Impuesto"))
        if kind and node.get("Importe"):
            taxes[kind] += Decimal(node.get("Importe"))
    retained = Decimal(summary.get("TotalImpuestosRetenidos") or 0) \
        if summary is not None else ZERO
    return Amounts(fecha=(root.get("Fecha") or "")[:10],
                   subtotal=Decimal(root.get("SubTotal") or 0),
                   descuento=Decimal(root.get("Descuento") or 0), iva=taxes["iva"],
                   ieps=taxes["ieps"], retenciones=retained,
                   total=Decimal(root.get("Total") or 0), moneda=root.get("Moneda") or "")


def amounts_from_record(invoice):
    """The same amounts from the database, when the XML is not archived yet."""
    totals = compute(invoice.lines)
    iva = sum((v for k, v in totals.taxes.items() if k.startswith("IVA")), ZERO)
    ieps = sum((v for k, v in totals.taxes.items() if k.startswith("IEPS")), ZERO)
    return Amounts(fecha=invoice.date.isoformat(), subtotal=invoice.subtotal,
                   descuento=invoice.discount, iva=iva, ieps=ieps,
                   retenciones=invoice.retentions, total=invoice.total,
                   moneda=invoice.currency)


def paid_of(invoice, amounts):
    """(pagado, saldo) of an invoice: PUE is paid on issue; PPD by its payments."""
    if invoice.status == CANCELLED:
        return ZERO, ZERO
    if invoice.metodo_pago != "PPD":
        return amounts.total, ZERO
    paid = _payments_total(invoice)
    return paid, amounts.total - paid


def _payments_total(invoice):
    """Sum of payments applied to a PPD invoice that hold money (REP in force or on its way)."""
    from ..payments.balances import paid_by_invoice

    return paid_by_invoice([invoice.id]).get(invoice.id, ZERO)


def month_invoices(start, end, batch=200):
    """Archived invoices of a month, oldest first, loaded in batches (never all at once)."""
    ids = [row[0] for row in db.session.query(Invoice.id).filter(
        Invoice.date >= start, Invoice.date < end,
        Invoice.status.in_(ARCHIVED_STATES)).order_by(Invoice.date, Invoice.id)]
    for offset in range(0, len(ids), batch):
        chunk = ids[offset:offset + batch]
        rows = {i.id: i for i in db.session.query(Invoice).filter(Invoice.id.in_(chunk))}
        for invoice_id in chunk:
            yield rows[invoice_id]
        # Loaded rows are not kept: the next batch starts from an empty session.
        db.session.expunge_all()


def month_payments(start, end):
    """Payments of a month whose REP was stamped (in force or cancelled), oldest first."""
    from datetime import datetime as dt
    from ..payments.models import Payment

    return db.session.query(Payment).filter(
        Payment.paid_at >= dt.combine(start, dt.min.time()),
        Payment.paid_at < dt.combine(end, dt.min.time()),
        Payment.status.in_(ARCHIVED_STATES)).order_by(Payment.paid_at, Payment.id).all()


def payment_row(payment):
    """One register row for a REP: its Monto as total; taxes live in its complement."""
    content = files.read(payment, "xml")
    fecha = ""
    if content:
        fecha = (ET.fromstring(content).get("Fecha") or "")[:10]
    customer = payment.customer
    return [
        "P", fecha or payment.paid_at.date().isoformat(), _cell(payment.number or ""),
        payment.uuid or "", _cell(customer.rfc), _cell(customer.name), _money(ZERO),
        _money(ZERO), _money(ZERO), _money(ZERO), _money(ZERO), _money(payment.amount),
        payment.currency, "", payment.label, _money(payment.amount), "",
        _entry(payment, "xml") if content else "",
        _entry(payment, "pdf") if payment.pdf_path else "",
    ]


def _cell(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _money(value):
    return f"{Decimal(value):.2f}"


def register_row(invoice):
    """One register row for an invoice, amounts from its XML when archived."""
    content = files.read(invoice, "xml")
    amounts = amounts_from_xml(content) if content else amounts_from_record(invoice)
    paid, balance = paid_of(invoice, amounts)
    customer = invoice.customer
    return [
        "I", amounts.fecha, _cell(invoice.number or ""), invoice.uuid or "",
        _cell(customer.rfc if customer else ""), _cell(customer.name if customer else ""),
        _money(amounts.subtotal), _money(amounts.descuento), _money(amounts.iva),
        _money(amounts.ieps), _money(amounts.retenciones), _money(amounts.total),
        amounts.moneda, invoice.metodo_pago, invoice.status_label, _money(paid),
        _money(balance), _entry(invoice, "xml") if content else "",
        _entry(invoice, "pdf") if invoice.pdf_path else "",
    ]


def _entry(invoice, kind):
    return f"{kind}/{files.file_name(invoice, kind)}"


class _Sink:
    """A write-only, non-seekable file for zipfile that hands out what was written."""

    def __init__(self):
        self._chunks, self._size = [], 0

    def write(self, data):
        self._chunks.append(bytes(data))
        self._size += len(data)
        return len(data)

    def tell(self):
        return self._size

    def flush(self):
        """Nothing to flush: bytes are taken with take()."""

    def take(self):
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def write_month(month, fileobj):
    """Write the month's ZIP into fileobj; yields after each entry (for streaming)."""
    start, end = parse_month(month)
    root = current_app.config["ARCHIVE_PATH"]
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open(REGISTER, "w", force_zip64=True) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(HEADERS)
            for invoice in month_invoices(start, end):
                writer.writerow(register_row(invoice))
                text.flush()
                yield
            for payment in month_payments(start, end):
                writer.writerow(payment_row(payment))
            text.flush()
            text.detach()
        yield
        documents = (month_invoices(start, end), month_payments(start, end))
        for document in (d for group in documents for d in group):
            for kind in ("xml", "pdf"):
                relative = getattr(document, f"{kind}_path")
                path = os.path.join(root, relative) if relative else None
                if path and os.path.exists(path):
                    zf.write(path, _entry(document, kind))
                    yield
        zf.writestr("LEEME.txt", _readme(month))
    yield


def _readme(month):
    return (f"Archivo del mes {month} generado por apunto-fact.\r\n"
            f"{REGISTER}: una fila por CFDI (UTF-8, ábrelo con Excel).\r\n"
            "xml/: los CFDI timbrados (facturas, tipo I, y complementos de pago, tipo P);\r\n"
            "pdf/: sus representaciones impresas.\r\n"
            "La columna «estado» dice si el CFDI está vigente, en cancelación o cancelado.\r\n"
            "Guarda este archivo al menos cinco años (CFF art. 30).\r\n")


def stream_month(month):
    """Yield the month's ZIP in chunks, never holding the whole month in memory."""
    sink = _Sink()
    for _ in write_month(month, sink):
        data = sink.take()
        for offset in range(0, len(data), CHUNK):
            yield data[offset:offset + CHUNK]
    data = sink.take()
    if data:
        yield data


def save_month(month, path):
    """Write the month's ZIP to a file path atomically; return the path."""
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as fh:
        for _ in write_month(month, fh):
            pass
    os.replace(tmp, path)
    return path
