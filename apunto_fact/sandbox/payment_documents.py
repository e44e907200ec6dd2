"""The REP the sandbox 'stamps': a CFDI 4.0 of type P with the Pagos 2.0 complement.

Valid against cfdv40.xsd and Pagos20.xsd (pagos20.md §2): Moneda XXX, one Concepto
84111506/ACT with zero amounts, UsoCFDI CP01, Totales first, RetencionesDR before
TrasladosDR. Amounts come from apunto_fact.payments.amounts, the same formulas the SAT states.
"""
import xml.etree.ElementTree as ET
from decimal import Decimal

from ..payments import amounts as pay
from .documents import CFDI
from .documents import FAKE_SEAL
from .documents import TFD
from .documents import XSI
from .documents import _pdf_text

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
    stamp = payment["stamp"]
    root = ET.Element(f"{{{CFDI}}}Comprobante", {
        f"{{{XSI}}}schemaLocation": SCHEMAS, "Version": "4.0",
        "Serie": payment["numberTemplate"]["prefix"],
        "Folio": str(payment["numberTemplate"]["number"]),
        "Fecha": payment["datetime"].replace(" ", "T"), "Sello": FAKE_SEAL,
        "NoCertificado": "30001000000500003416", "Certificado": FAKE_SEAL, "SubTotal": "0",
        "Moneda": "XXX", "Total": "0", "TipoDeComprobante": "P", "Exportacion": "01",
        "LugarExpedicion": company["address"]["zipCode"]})
    ET.SubElement(root, f"{{{CFDI}}}Emisor", {"Rfc": company["identification"],
                                              "Nombre": company["name"],
                                              "RegimenFiscal": "601"})
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
        "Version": "1.1", "UUID": stamp["uuid"],
        "FechaTimbrado": stamp["stampDate"].replace(" ", "T"), "RfcProvCertif": "SPR190613I52",
        "SelloCFD": FAKE_SEAL, "NoCertificadoSAT": "30001000000500003456",
        "SelloSAT": FAKE_SEAL})
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def rep_pdf(payment, company, contact, related):
    """A one-page PDF with the REP's essentials."""
    lines = [(16, f"COMPLEMENTO DE PAGO {payment['numberTemplate']['fullNumber']}"),
             (9, "SANDBOX LOCAL DE ALEGRA - DOCUMENTO DE PRUEBA SIN VALIDEZ FISCAL"),
             (10, f"Emisor: {company['name']}  RFC {company['identification']}"),
             (10, f"Receptor: {contact['name']}  RFC {contact['identification']}"),
             (10, f"Folio fiscal (UUID): {payment['stamp']['uuid']}"),
             (10, f"Fecha de pago: {payment['_sat']['fechaPago']}  Forma "
                  f"{payment['_sat']['formaPago']}  Monto {payment['amount']} "
                  f"{payment['currency']['code']}"), (10, "")]
    for rel in related:
        lines.append((10, f"{rel.document.serie}{rel.document.folio} {rel.document.uuid} "
                          f"parc. {rel.num_parcialidad}: saldo ant. {rel.saldo_anterior} "
                          f"pagado {rel.pagado} insoluto {rel.saldo_insoluto}"))
    ops, y = ["BT"], 760
    for size, text in lines:
        ops.append(f"/F1 {size} Tf 1 0 0 1 40 {y} Tm ({_pdf_text(text)}) Tj")
        y -= size + 8
    ops.append("ET")
    content = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)
