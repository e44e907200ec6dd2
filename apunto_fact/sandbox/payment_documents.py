"""The REP the sandbox 'stamps': a CFDI 4.0 of type P with the Pagos 2.0 complement.

Valid against cfdv40.xsd and Pagos20.xsd (pagos20.md §2): Moneda XXX, one Concepto
84111506/ACT with zero amounts, UsoCFDI CP01, Totales first, RetencionesDR before
TrasladosDR. Amounts come from apunto_fact.payments.amounts, the same formulas the SAT states.
"""
import base64
import xml.etree.ElementTree as ET
from decimal import Decimal

from ..payments import amounts as pay
from ..sat import catalogs as cat
from .documents import CFDI
from .documents import CSD_NUMBER
from .documents import SANDBOX_NOTICE
from .documents import TFD
from .documents import XSI
from .documents import _label
from .documents import _latin
from .documents import _Pdf
from .documents import _seal
from .documents import _seals
from .documents import emisor_regimen
from .documents import tfd_attributes

PAGOS = "http://www.sat.gob.mx/Pagos20"
ET.register_namespace("pago20", PAGOS)
SCHEMAS = (f"{CFDI} http://www.sat.gob.mx/sitio_internet/cfd/4/cfdv40.xsd "
           f"{PAGOS} http://www.sat.gob.mx/sitio_internet/cfd/Pagos/Pagos20.xsd")


def amount(value, minimum=2):
    """An amount as written in the XML: up to 6 decimals, at least `minimum`."""
    value = Decimal(value).quantize(Decimal("0.000001"))
    text = f"{value.normalize():f}"
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"{value:.{max(decimals, minimum)}f}"


def rate(value):
    """TasaOCuota with its six decimals."""
    return f"{Decimal(value):.6f}"


def equivalence(value):
    """EquivalenciaDR: `1` when equal, else 10 decimals (pagos20.md §2.5.4–5)."""
    return "1" if value == 1 else f"{Decimal(value):.10f}"


def _tax_rows(parent, group, tag, rows):
    container = ET.SubElement(parent, f"{{{PAGOS}}}{group}")
    for row in rows:
        attrs = {"BaseDR": amount(row.base), "ImpuestoDR": row.impuesto,
                 "TipoFactorDR": row.factor}
        if row.factor != "Exento":
            attrs.update(TasaOCuotaDR=rate(row.rate), ImporteDR=amount(row.amount))
        ET.SubElement(container, f"{{{PAGOS}}}{tag}", attrs)


def _impuestos_dr(node, related):
    if related.objeto_imp != "02" or not (related.traslados or related.retenciones):
        return
    taxes = ET.SubElement(node, f"{{{PAGOS}}}ImpuestosDR")
    if related.retenciones:
        _tax_rows(taxes, "RetencionesDR", "RetencionDR", related.retenciones)
    if related.traslados:
        _tax_rows(taxes, "TrasladosDR", "TrasladoDR", related.traslados)


def _impuestos_p(node, traslados, retenciones):
    if not (traslados or retenciones):
        return
    taxes = ET.SubElement(node, f"{{{PAGOS}}}ImpuestosP")
    if retenciones:
        group = ET.SubElement(taxes, f"{{{PAGOS}}}RetencionesP")
        for row in retenciones:
            ET.SubElement(group, f"{{{PAGOS}}}RetencionP",
                          {"ImpuestoP": row.impuesto, "ImporteP": amount(row.amount)})
    if traslados:
        group = ET.SubElement(taxes, f"{{{PAGOS}}}TrasladosP")
        for row in traslados:
            attrs = {"BaseP": amount(row.base), "ImpuestoP": row.impuesto,
                     "TipoFactorP": row.factor}
            if row.factor != "Exento":
                attrs.update(TasaOCuotaP=rate(row.rate), ImporteP=amount(row.amount))
            ET.SubElement(group, f"{{{PAGOS}}}TrasladoP", attrs)


def rep_xml(payment, company, contact, regimen, related):
    """Build the stamped REP of a sandbox payment; `related` are payments.amounts.Related."""
    seal = _seal(payment["stamp"]["uuid"], "cfd")
    root = ET.Element(f"{{{CFDI}}}Comprobante", {
        f"{{{XSI}}}schemaLocation": SCHEMAS, "Version": "4.0",
        "Serie": payment["numberTemplate"]["prefix"],
        "Folio": str(payment["numberTemplate"]["number"]),
        "Fecha": payment["datetime"].replace(" ", "T"), "Sello": seal,
        "NoCertificado": CSD_NUMBER, "Certificado": base64.b64encode(b"SANDBOX-CERTIFICADO")
        .decode(), "SubTotal": "0",
        "Moneda": "XXX", "Total": "0", "TipoDeComprobante": "P", "Exportacion": "01",
        "LugarExpedicion": company["address"]["zipCode"]})
    ET.SubElement(root, f"{{{CFDI}}}Emisor", {"Rfc": company["identification"],
                                              "Nombre": company["name"],
                                              "RegimenFiscal": emisor_regimen(company)})
    ET.SubElement(root, f"{{{CFDI}}}Receptor", {
        "Rfc": contact["identification"], "Nombre": contact["name"],
        "DomicilioFiscalReceptor": contact["address"]["zipCode"],
        "RegimenFiscalReceptor": regimen, "UsoCFDI": "CP01"})
    concepts = ET.SubElement(root, f"{{{CFDI}}}Conceptos")
    ET.SubElement(concepts, f"{{{CFDI}}}Concepto", {
        "ClaveProdServ": "84111506", "Cantidad": "1", "ClaveUnidad": "ACT",
        "Descripcion": "Pago", "ValorUnitario": "0", "Importe": "0", "ObjetoImp": "01"})
    complement = ET.SubElement(root, f"{{{CFDI}}}Complemento")
    pagos = ET.SubElement(complement, f"{{{PAGOS}}}Pagos", {"Version": "2.0"})
    currency = payment["currency"]
    exchange = Decimal(str(currency.get("exchangeRate") or 1))
    monto = Decimal(payment["amount"])
    traslados, retenciones = pay.pago_taxes(related)
    totals = pay.totales([(monto, exchange, traslados, retenciones)])
    ET.SubElement(pagos, f"{{{PAGOS}}}Totales", {k: f"{v:.2f}" for k, v in totals.items()})
    pago = ET.SubElement(pagos, f"{{{PAGOS}}}Pago", {
        "FechaPago": payment["_sat"]["fechaPago"], "FormaDePagoP": payment["_sat"]["formaPago"],
        "MonedaP": currency["code"],
        "TipoCambioP": "1" if currency["code"] == "MXN" else f"{exchange:.6f}",
        "Monto": f"{monto:.2f}"})
    if payment.get("numOperation"):
        pago.set("NumOperacion", str(payment["numOperation"])[:100])
    if payment.get("payerAccount"):
        pago.set("CtaOrdenante", payment["payerAccount"])
    if payment.get("beneficiaryAccount"):
        pago.set("CtaBeneficiario", payment["beneficiaryAccount"])
    for rel in related:
        doc = rel.document
        node = ET.SubElement(pago, f"{{{PAGOS}}}DoctoRelacionado", {
            "IdDocumento": doc.uuid, "Serie": doc.serie, "Folio": doc.folio,
            "MonedaDR": doc.currency, "EquivalenciaDR": equivalence(rel.equivalencia),
            "NumParcialidad": str(rel.num_parcialidad),
            "ImpSaldoAnt": f"{rel.saldo_anterior:.2f}", "ImpPagado": f"{rel.pagado:.2f}",
            "ImpSaldoInsoluto": f"{rel.saldo_insoluto:.2f}", "ObjetoImpDR": rel.objeto_imp})
        _impuestos_dr(node, rel)
    _impuestos_p(pago, traslados, retenciones)
    ET.SubElement(complement, f"{{{TFD}}}TimbreFiscalDigital", {
        f"{{{XSI}}}schemaLocation": f"{TFD} http://www.sat.gob.mx/sitio_internet/cfd/"
                                    "TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd",
        **tfd_attributes(payment, seal)})
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def rep_pdf(payment, company, contact, regimen, related):
    """The representación impresa of a REP (fpdf2), with the sandbox invoices' seals and QR."""
    seal = _seal(payment["stamp"]["uuid"], "cfd")
    pdf = _Pdf(format="Letter")
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 7, f"COMPLEMENTO DE PAGO {payment['numberTemplate']['fullNumber']}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=7)
    pdf.cell(0, 4, SANDBOX_NOTICE, new_x="LMARGIN", new_y="NEXT")
    currency = payment["currency"]["code"]
    text = [
        ("Emisor", f"{company['name']}  RFC {company['identification']}"),
        ("Régimen fiscal del emisor", _label(cat.REGIMENES, emisor_regimen(company))),
        ("Lugar de expedición (CP)", company["address"]["zipCode"]),
        ("Receptor", f"{contact['name']}  RFC {contact['identification']}"),
        ("Régimen fiscal del receptor", _label(cat.REGIMENES, regimen)),
        ("Uso del CFDI", "CP01 Pagos"), ("Tipo de comprobante", "P - Pago"),
        ("Folio fiscal (UUID)", payment["stamp"]["uuid"]),
        ("Fecha de emisión", payment["datetime"]),
        ("Fecha de pago", payment["_sat"]["fechaPago"]),
        ("Forma de pago", _label(cat.FORMAS_PAGO, payment["_sat"]["formaPago"])),
        ("Monto", f"{payment['amount']} {currency}"),
    ]
    if payment.get("numOperation"):
        text.append(("Número de operación", payment["numOperation"]))
    for label, value in text:
        pdf.set_font("Helvetica", "B", 8)
        pdf.cell(58, 4.2, _latin(label + ":"))
        pdf.set_font("Helvetica", size=8)
        pdf.cell(0, 4.2, _latin(str(value)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 7)
    for title, width in (("Documento relacionado (UUID)", 70), ("Serie-folio", 22),
                         ("Parc.", 10), ("Saldo anterior", 28), ("Pagado", 28),
                         ("Saldo insoluto", 28)):
        pdf.cell(width, 5, _latin(title), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=7)
    for rel in related:
        doc = rel.document
        for value, width in ((doc.uuid, 70), (f"{doc.serie}{doc.folio}", 22),
                             (str(rel.num_parcialidad), 10), (f"{rel.saldo_anterior:,.2f}", 28),
                             (f"{rel.pagado:,.2f}", 28), (f"{rel.saldo_insoluto:,.2f}", 28)):
            pdf.cell(width, 5, _latin(value), border=1)
        pdf.ln()
    _seals(pdf, {**payment, "total": "0"}, company, contact, seal,
           tfd_attributes(payment, seal))
    return bytes(pdf.output())
