"""The files the sandbox 'stamps': a CFDI 4.0 XML that obeys the SAT, and its printed PDF.

Real Alegra builds the CFDI; the sandbox's is what demos and tests see, so it follows
Anexo 20 (alegra-evidence.md §6, cfdi40-rules.md): traslados grouped by impuesto, tipo
factor and tasa summing to the totals, line retentions that add up to the document's, the
company's régimen, InformacionGlobal for público en general. The PDF is a representación
impresa: QR with the SAT verification URL, sellos, cadena original del TFD, importe con
letra, both parties' régimen and CP, the SAT keys of every line and each tax.
"""
import base64
import hashlib
import io
import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

import segno
from fpdf import FPDF
from num2words import num2words

from ..alegra.mapping import REGIME_CODES
from ..money import sat_round
from ..sat import catalogs as cat

CFDI = "http://www.sat.gob.mx/cfd/4"
TFD = "http://www.sat.gob.mx/TimbreFiscalDigital"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("cfdi", CFDI)
ET.register_namespace("tfd", TFD)
ET.register_namespace("xsi", XSI)

TAX_CODES = {"IVA": "002", "IEPS": "003", "ISR": "001"}
TAX_NAMES = {v: k for k, v in TAX_CODES.items()}
VERIFY_URL = "https://verificacfdi.facturaelectronica.sat.gob.mx/default.aspx"
PAC_RFC = "SPR190613I52"
CSD_NUMBER, SAT_CERT_NUMBER = "30001000000500003416", "30001000000500003456"
SANDBOX_NOTICE = "SANDBOX LOCAL DE ALEGRA - DOCUMENTO DE PRUEBA SIN VALIDEZ FISCAL"
# Registered TasaOCuota values where percentage/100 is not the SAT's figure.
RATE_OVERRIDES = {Decimal("10.6667"): Decimal("0.106667")}


def rate(percentage):
    """A percentage ("16.00", "10.6667") as the SAT's TasaOCuota (6 decimals)."""
    value = Decimal(str(percentage)).normalize()
    return RATE_OVERRIDES.get(value) or (value / 100).quantize(Decimal("0.000001"))


def _seal(*parts):
    """A stand-in seal (base64, like a real one; visibly not a signature)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b64encode(b"SANDBOX-SIN-VALIDEZ-FISCAL" + digest).decode()


@dataclass
class Tax:
    """One traslado or retención of a concepto (or of the document when summed)."""

    code: str            # 001 ISR, 002 IVA, 003 IEPS
    factor: str          # Tasa | Exento
    rate: Decimal | None
    base: Decimal
    amount: Decimal | None


@dataclass
class Concept:
    """One Concepto with its SAT keys and taxes."""

    item: dict
    base: Decimal
    transfers: list = field(default_factory=list)
    retentions: list = field(default_factory=list)

    @property
    def objeto_imp(self):
        """02 when the concepto carries taxes, 01 when it does not (CFDI40170–40172)."""
        return "02" if self.transfers or self.retentions else "01"


def concepts(invoice):
    """The conceptos of a sandbox invoice with their traslados and retenciones."""
    result = []
    for item in invoice["items"]:
        base = Decimal(item["subtotal"]) - Decimal(item["discountAmount"])
        concept = Concept(item, base)
        for tax in item["tax"]:
            exempt = bool(tax.get("exempt"))
            concept.transfers.append(Tax(
                TAX_CODES[tax["type"]], "Exento" if exempt else "Tasa",
                None if exempt else rate(tax["percentage"]), Decimal(tax["base"]),
                None if exempt else Decimal(tax["amount"])))
        result.append(concept)
    for retention in invoice["retentions"]:
        _attribute_retention(result, retention)
    return result


def _attribute_retention(lines, retention):
    """Give a document retention to the lines whose per-line amounts add up to it.

    Alegra's invoice body carries retentions per document with their amount; the SAT needs
    them per concepto as well, agreeing with the document (CFDI40196 and following). The
    lines are the subset whose rounded Base × TasaOCuota sums to the amount sent; with no
    exact subset (or too many lines to try), every taxed line carries it.
    """
    tasa = rate(retention["percentage"])
    target = Decimal(retention["amount"])
    amounts = [sat_round(c.base * tasa) for c in lines]
    chosen = None
    if len(lines) <= 12:
        for size in range(len(lines), 0, -1):
            for subset in itertools.combinations(range(len(lines)), size):
                if sum((amounts[i] for i in subset), Decimal(0)) == target:
                    chosen = subset
                    break
            if chosen:
                break
    if chosen is None:
        chosen = range(len(lines))
        amounts = _spread(target, [c.base for c in lines])
    for i in chosen:
        lines[i].retentions.append(Tax(TAX_CODES[retention["type"]], "Tasa", tasa,
                                       lines[i].base, amounts[i]))


def _spread(total, bases):
    """Split total over bases proportionally; the rounding remainder goes to the last."""
    whole = sum(bases, Decimal(0)) or Decimal(1)
    parts = [sat_round(total * b / whole) for b in bases]
    parts[-1] += total - sum(parts, Decimal(0))
    return parts


def grouped(taxes, retention=False):
    """Document-level taxes: traslados by impuesto/tipo/tasa, retenciones by impuesto."""
    groups = {}
    for tax in taxes:
        key = (tax.code,) if retention else (tax.code, tax.factor, tax.rate)
        if key not in groups:
            groups[key] = Tax(tax.code, tax.factor, tax.rate, Decimal(0),
                              None if tax.amount is None else Decimal(0))
        group = groups[key]
        group.base += tax.base
        if tax.amount is not None:
            group.amount += tax.amount
    return list(groups.values())


def _amount(value):
    return f"{sat_round(value):.2f}"


def _tax_attrs(tax, *, with_base=True):
    attrs = {"Base": _amount(tax.base)} if with_base else {}
    attrs.update(Impuesto=tax.code, TipoFactor=tax.factor)
    if tax.factor != "Exento":
        attrs.update(TasaOCuota=f"{tax.rate:.6f}", Importe=_amount(tax.amount))
    return attrs


def emisor_regimen(company):
    """The company's régimen as a SAT code (Alegra's enum, mapped back)."""
    return REGIME_CODES.get(company.get("regime"))


def cfdi_xml(invoice, company, contact):
    """Build the CFDI 4.0 XML of a stamped sandbox invoice."""
    stamp = invoice["stamp"]
    lines = concepts(invoice)
    transfers = grouped([t for c in lines for t in c.transfers])
    retentions = grouped([t for c in lines for t in c.retentions], retention=True)
    seal = invoice.get("_seal") or _seal(stamp["uuid"], "cfd")
    root = ET.Element(f"{{{CFDI}}}Comprobante", {
        f"{{{XSI}}}schemaLocation": f"{CFDI} http://www.sat.gob.mx/sitio_internet/cfd/4/cfdv40.xsd",
        "Version": "4.0", "Serie": invoice["numberTemplate"]["prefix"],
        "Folio": str(invoice["numberTemplate"]["number"]),
        "Fecha": invoice["datetime"].replace(" ", "T"), "Sello": seal,
        "FormaPago": invoice["_sat"]["formaPago"], "NoCertificado": CSD_NUMBER,
        "Certificado": base64.b64encode(b"SANDBOX-CERTIFICADO").decode(),
        "SubTotal": invoice["subtotal"], "Moneda": invoice["currency"]["code"],
        "Total": invoice["total"], "TipoDeComprobante": "I", "Exportacion": "01",
        "MetodoPago": invoice["paymentType"],
        "LugarExpedicion": company["address"]["zipCode"],
    })
    if Decimal(invoice["discount"]) > 0:
        root.set("Descuento", invoice["discount"])
    if invoice["currency"]["code"] != "MXN":
        root.set("TipoCambio", str(invoice["currency"]["exchangeRate"]))
    if invoice.get("periodicity"):
        ET.SubElement(root, f"{{{CFDI}}}InformacionGlobal", {
            "Periodicidad": invoice["periodicity"], "Meses": invoice["months"],
            "Año": str(invoice["year"])})
    ET.SubElement(root, f"{{{CFDI}}}Emisor", {"Rfc": company["identification"],
                                              "Nombre": company["name"],
                                              "RegimenFiscal": emisor_regimen(company)})
    ET.SubElement(root, f"{{{CFDI}}}Receptor", {
        "Rfc": contact["identification"], "Nombre": contact["name"],
        "DomicilioFiscalReceptor": contact["address"]["zipCode"],
        "RegimenFiscalReceptor": invoice["_sat"]["regimen"], "UsoCFDI": invoice["cfdiUse"]})
    node = ET.SubElement(root, f"{{{CFDI}}}Conceptos")
    for line in lines:
        item = line.item
        attrs = {"ClaveProdServ": item["productKey"]}
        if item.get("reference"):
            attrs["NoIdentificacion"] = item["reference"][:100]
        attrs.update(Cantidad=item["quantity"], ClaveUnidad=item["unit"],
                     Descripcion=item["description"], ValorUnitario=item["price"],
                     Importe=item["subtotal"])
        if Decimal(item["discountAmount"]) > 0:
            attrs["Descuento"] = item["discountAmount"]
        attrs["ObjetoImp"] = line.objeto_imp
        concept = ET.SubElement(node, f"{{{CFDI}}}Concepto", attrs)
        if line.objeto_imp == "02":
            taxes = ET.SubElement(concept, f"{{{CFDI}}}Impuestos")
            if line.transfers:
                group = ET.SubElement(taxes, f"{{{CFDI}}}Traslados")
                for tax in line.transfers:
                    ET.SubElement(group, f"{{{CFDI}}}Traslado", _tax_attrs(tax))
            if line.retentions:
                group = ET.SubElement(taxes, f"{{{CFDI}}}Retenciones")
                for tax in line.retentions:
                    ET.SubElement(group, f"{{{CFDI}}}Retencion", _tax_attrs(tax))
    if transfers or retentions:
        totals = {}
        if retentions:
            totals["TotalImpuestosRetenidos"] = _amount(sum(t.amount for t in retentions))
        if any(t.factor != "Exento" for t in transfers):
            totals["TotalImpuestosTrasladados"] = _amount(
                sum(t.amount for t in transfers if t.amount is not None))
        summary = ET.SubElement(root, f"{{{CFDI}}}Impuestos", totals)
        if retentions:
            group = ET.SubElement(summary, f"{{{CFDI}}}Retenciones")
            for tax in retentions:
                ET.SubElement(group, f"{{{CFDI}}}Retencion", {"Impuesto": tax.code,
                                                              "Importe": _amount(tax.amount)})
        if transfers:
            group = ET.SubElement(summary, f"{{{CFDI}}}Traslados")
            for tax in transfers:
                ET.SubElement(group, f"{{{CFDI}}}Traslado", _tax_attrs(tax))
    complement = ET.SubElement(root, f"{{{CFDI}}}Complemento")
    ET.SubElement(complement, f"{{{TFD}}}TimbreFiscalDigital", {
        f"{{{XSI}}}schemaLocation": f"{TFD} http://www.sat.gob.mx/sitio_internet/cfd/"
                                    "TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd",
        **tfd_attributes(invoice, seal)})
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def tfd_attributes(invoice, seal):
    """The TimbreFiscalDigital 1.1 attributes, in the order of its cadena original."""
    stamp = invoice["stamp"]
    return {"Version": "1.1", "UUID": stamp["uuid"],
            "FechaTimbrado": stamp["stampDate"].replace(" ", "T"), "RfcProvCertif": PAC_RFC,
            "SelloCFD": seal, "NoCertificadoSAT": SAT_CERT_NUMBER,
            "SelloSAT": _seal(stamp["uuid"], "sat")}


def tfd_original_string(invoice, seal):
    """Cadena original del complemento de certificación digital del SAT (TFD 1.1)."""
    attrs = tfd_attributes(invoice, seal)
    fields = [attrs[k] for k in ("Version", "UUID", "FechaTimbrado", "RfcProvCertif",
                                 "SelloCFD", "NoCertificadoSAT")]
    return "||" + "|".join(fields) + "||"


def verification_url(invoice, company, contact, seal):
    """The SAT's verification URL printed as the QR (Anexo 20, rubro I.D)."""
    total = Decimal(invoice["total"]).normalize()
    # Not URL-encoded: the SAT's format puts the seal's last 8 characters as they are.
    query = {"id": invoice["stamp"]["uuid"], "re": company["identification"],
             "rr": contact["identification"], "tt": f"{total:f}", "fe": seal[-8:]}
    return VERIFY_URL + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def amount_in_words(total, currency):
    """«MIL CIENTO SESENTA PESOS 00/100 M.N.» (num2words, Spanish)."""
    total = sat_round(Decimal(total))
    whole = int(total)
    cents = int((total - whole) * 100)
    words = num2words(whole, lang="es").upper()
    names = {"MXN": ("PESOS", "M.N."), "USD": ("DÓLARES", "USD"), "EUR": ("EUROS", "EUR")}
    unit, suffix = names.get(currency, (currency, currency))
    if currency == "MXN" and whole == 1:
        unit = "PESO"
    return f"{words} {unit} {cents:02d}/100 {suffix}"


class _Pdf(FPDF):
    def footer(self):
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        self.cell(0, 5, f"Este documento es una representación impresa de un CFDI. "
                        f"{SANDBOX_NOTICE}. Página {self.page_no()}", align="C")


def _label(catalog, code):
    """«601 General de Ley Personas Morales» (code first, as printed CFDIs show it)."""
    return cat.label(catalog, code).replace(" - ", " ", 1) if code in catalog else str(code)


def invoice_pdf(invoice, company, contact):
    """The representación impresa of a stamped sandbox invoice (fpdf2, segno, num2words)."""
    stamp = invoice["stamp"]
    seal = invoice.get("_seal") or _seal(stamp["uuid"], "cfd")
    tfd = tfd_attributes(invoice, seal)
    lines = concepts(invoice)
    currency = invoice["currency"]["code"]
    pdf = _Pdf(format="Letter")
    pdf.set_compression(False)  # text stays searchable in the raw bytes (UUID, RFCs)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 7, f"FACTURA {invoice['numberTemplate']['fullNumber']}", new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("Helvetica", size=7)
    pdf.cell(0, 4, SANDBOX_NOTICE, new_x="LMARGIN", new_y="NEXT")
    text = [
        ("Emisor", f"{company['name']}  RFC {company['identification']}"),
        ("Régimen fiscal del emisor", _label(cat.REGIMENES, emisor_regimen(company))),
        ("Lugar de expedición (CP)", company["address"]["zipCode"]),
        ("Receptor", f"{contact['name']}  RFC {contact['identification']}"),
        ("Régimen fiscal del receptor", _label(cat.REGIMENES, invoice["_sat"]["regimen"])),
        ("Domicilio fiscal del receptor (CP)", contact["address"]["zipCode"]),
        ("Uso del CFDI", _label(cat.USOS_CFDI, invoice["cfdiUse"])),
        ("Folio fiscal (UUID)", stamp["uuid"]),
        ("Fecha de emisión", invoice["datetime"]),
        ("Fecha de certificación", stamp["stampDate"]),
        ("No. de serie del CSD del emisor", CSD_NUMBER),
        ("No. de serie del certificado del SAT", SAT_CERT_NUMBER),
        ("Tipo de comprobante", "I - Ingreso"), ("Exportación", "01 - No aplica"),
        ("Método de pago", _label(cat.METODOS_PAGO, invoice["paymentType"])),
        ("Forma de pago", _label(cat.FORMAS_PAGO, invoice["_sat"]["formaPago"])),
        ("Moneda", currency + (f"  Tipo de cambio {invoice['currency']['exchangeRate']}"
                               if currency != "MXN" else "")),
    ]
    if invoice.get("periodicity"):
        text.append(("Información global", f"Periodicidad "
                                           f"{_label(cat.PERIODICIDADES, invoice['periodicity'])}"
                                           f", meses {_label(cat.MESES, invoice['months'])}, "
                                           f"año {invoice['year']}"))
    pdf.set_font("Helvetica", size=8)
    for label, value in text:
        pdf.set_font("Helvetica", "B", 8)
        pdf.cell(58, 4.2, _latin(label + ":"))
        pdf.set_font("Helvetica", size=8)
        pdf.cell(0, 4.2, _latin(str(value)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _concept_table(pdf, lines)
    _totals(pdf, invoice, lines, currency)
    _seals(pdf, invoice, company, contact, seal, tfd)
    return bytes(pdf.output())


def _latin(text):
    return text.encode("latin-1", "replace").decode("latin-1")


def _concept_table(pdf, lines):
    widths = (18, 14, 14, 60, 26, 26, 14, 24)
    heads = ("ClaveProdServ", "Cantidad", "ClaveUnidad", "Descripción", "Valor unitario",
             "Importe", "ObjetoImp", "Descuento")
    pdf.set_font("Helvetica", "B", 7)
    for width, head in zip(widths, heads):
        pdf.cell(width, 5, _latin(head), border=1)
    pdf.ln()
    for line in lines:
        item = line.item
        pdf.set_font("Helvetica", size=7)
        row = (item["productKey"], item["quantity"], item["unit"], item["description"][:45],
               item["price"], item["subtotal"], line.objeto_imp, item["discountAmount"])
        for width, value in zip(widths, row):
            pdf.cell(width, 5, _latin(str(value)), border=1)
        pdf.ln()
        for kind, taxes in (("Traslado", line.transfers), ("Retención", line.retentions)):
            for tax in taxes:
                pdf.cell(widths[0], 4, "")
                pdf.cell(0, 4, _latin(_tax_line(kind, tax)), new_x="LMARGIN", new_y="NEXT")


def _tax_line(kind, tax):
    name = TAX_NAMES[tax.code]
    if tax.factor == "Exento":
        return f"{kind} {name} ({tax.code}) Exento  Base {_amount(tax.base)}"
    return (f"{kind} {name} ({tax.code}) {tax.factor} {tax.rate:.6f}  Base {_amount(tax.base)}"
            f"  Importe {_amount(tax.amount)}")


def _totals(pdf, invoice, lines, currency):
    pdf.ln(2)
    pdf.set_font("Helvetica", size=8)
    rows = [("Subtotal", invoice["subtotal"])]
    if Decimal(invoice["discount"]) > 0:
        rows.append(("Descuento", invoice["discount"]))
    for tax in grouped([t for c in lines for t in c.transfers]):
        label = f"{TAX_NAMES[tax.code]} trasladado " + (
            "exento" if tax.factor == "Exento" else f"{tax.rate * 100:.4f}".rstrip("0")
            .rstrip(".") + " %")
        rows.append((label, _amount(tax.amount or 0)))
    for tax in grouped([t for c in lines for t in c.retentions], retention=True):
        rows.append((f"{TAX_NAMES[tax.code]} retenido", _amount(tax.amount)))
    rows.append(("Total", f"{invoice['total']} {currency}"))
    for label, value in rows:
        pdf.cell(150, 4.5, _latin(label), align="R")
        pdf.cell(0, 4.5, _latin(str(value)), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 8)
    pdf.multi_cell(0, 4.5, _latin("Importe con letra: " +
                                  amount_in_words(invoice["total"], currency)),
                   new_x="LMARGIN", new_y="NEXT")


def _seals(pdf, invoice, company, contact, seal, tfd):
    url = verification_url(invoice, company, contact, seal)
    image = io.BytesIO()
    segno.make(url, error="m").save(image, kind="png", scale=4, border=1)
    pdf.ln(2)
    top = pdf.get_y()
    pdf.image(image, x=pdf.l_margin, y=top, w=34)
    pdf.set_xy(pdf.l_margin + 38, top)
    pdf.set_font("Helvetica", size=6)
    blocks = (("Sello digital del CFDI", seal), ("Sello digital del SAT", tfd["SelloSAT"]),
              ("Cadena original del complemento de certificación digital del SAT",
               tfd_original_string(invoice, seal)),
              ("Verificación en el SAT", url))
    for label, value in blocks:
        pdf.set_x(pdf.l_margin + 38)
        pdf.set_font("Helvetica", "B", 6)
        pdf.cell(0, 3, _latin(label + ":"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(pdf.l_margin + 38)
        pdf.set_font("Helvetica", size=6)
        pdf.multi_cell(0, 3, _latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + 36))
