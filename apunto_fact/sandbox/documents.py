"""The files the sandbox 'stamps': a CFDI 4.0 XML with its TimbreFiscalDigital, and a PDF."""
import xml.etree.ElementTree as ET

CFDI = "http://www.sat.gob.mx/cfd/4"
TFD = "http://www.sat.gob.mx/TimbreFiscalDigital"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("cfdi", CFDI)
ET.register_namespace("tfd", TFD)
ET.register_namespace("xsi", XSI)

TAX_CODES = {"IVA": "002", "IEPS": "003", "ISR": "001"}
FAKE_SEAL = "U0FOREJPWC1TSU4tVkFMSURFWi1GSVNDQUw="  # "SANDBOX-SIN-VALIDEZ-FISCAL"


def _rate(percentage):
    return f"{float(percentage) / 100:.6f}"


def cfdi_xml(invoice, company, contact):
    """Build the CFDI 4.0 XML of a stamped sandbox invoice."""
    stamp = invoice["stamp"]
    root = ET.Element(f"{{{CFDI}}}Comprobante", {
        f"{{{XSI}}}schemaLocation": f"{CFDI} http://www.sat.gob.mx/sitio_internet/cfd/4/cfdv40.xsd",
        "Version": "4.0", "Serie": invoice["numberTemplate"]["prefix"],
        "Folio": str(invoice["numberTemplate"]["number"]),
        "Fecha": invoice["datetime"].replace(" ", "T"), "Sello": FAKE_SEAL,
        "FormaPago": invoice["_sat"]["formaPago"], "NoCertificado": "30001000000500003416",
        "Certificado": FAKE_SEAL, "SubTotal": invoice["subtotal"],
        "Moneda": invoice["currency"]["code"], "Total": invoice["total"],
        "TipoDeComprobante": "I", "Exportacion": "01", "MetodoPago": invoice["paymentType"],
        "LugarExpedicion": company["address"]["zipCode"],
    })
    if invoice["discount"] != "0.00":
        root.set("Descuento", invoice["discount"])
    if invoice["currency"]["code"] != "MXN":
        root.set("TipoCambio", str(invoice["currency"]["exchangeRate"]))
    ET.SubElement(root, f"{{{CFDI}}}Emisor", {"Rfc": company["identification"],
                                              "Nombre": company["name"],
                                              "RegimenFiscal": "601"})
    ET.SubElement(root, f"{{{CFDI}}}Receptor", {
        "Rfc": contact["identification"], "Nombre": contact["name"],
        "DomicilioFiscalReceptor": contact["address"]["zipCode"],
        "RegimenFiscalReceptor": invoice["_sat"]["regimen"], "UsoCFDI": invoice["cfdiUse"]})
    concepts = ET.SubElement(root, f"{{{CFDI}}}Conceptos")
    for item in invoice["items"]:
        node = ET.SubElement(concepts, f"{{{CFDI}}}Concepto", {
            "ClaveProdServ": item["productKey"], "NoIdentificacion": item["reference"],
            "Cantidad": item["quantity"], "ClaveUnidad": item["unit"],
            "Descripcion": item["description"], "ValorUnitario": item["price"],
            "Importe": item["subtotal"], "ObjetoImp": "02" if item["tax"] else "01"})
        if item["discountAmount"] != "0.00":
            node.set("Descuento", item["discountAmount"])
        if item["tax"]:
            taxes = ET.SubElement(ET.SubElement(node, f"{{{CFDI}}}Impuestos"),
                                  f"{{{CFDI}}}Traslados")
            for tax in item["tax"]:
                attrs = {"Base": tax["base"], "Impuesto": TAX_CODES[tax["type"]],
                         "TipoFactor": "Exento" if tax.get("exempt") else "Tasa"}
                if not tax.get("exempt"):
                    attrs.update(TasaOCuota=_rate(tax["percentage"]), Importe=tax["amount"])
                ET.SubElement(taxes, f"{{{CFDI}}}Traslado", attrs)
    totals = {"TotalImpuestosTrasladados": invoice["tax"]}
    if invoice["retentions"]:
        totals["TotalImpuestosRetenidos"] = invoice["totalRetentions"]
    summary = ET.SubElement(root, f"{{{CFDI}}}Impuestos", totals)
    if invoice["retentions"]:
        node = ET.SubElement(summary, f"{{{CFDI}}}Retenciones")
        for ret in invoice["retentions"]:
            ET.SubElement(node, f"{{{CFDI}}}Retencion", {"Impuesto": TAX_CODES[ret["type"]],
                                                         "Importe": ret["amount"]})
    complement = ET.SubElement(root, f"{{{CFDI}}}Complemento")
    ET.SubElement(complement, f"{{{TFD}}}TimbreFiscalDigital", {
        f"{{{XSI}}}schemaLocation": f"{TFD} http://www.sat.gob.mx/sitio_internet/cfd/"
                                    "TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd",
        "Version": "1.1", "UUID": stamp["uuid"], "FechaTimbrado": stamp["stampDate"].replace(" ", "T"),
        "RfcProvCertif": "SPR190613I52", "SelloCFD": FAKE_SEAL,
        "NoCertificadoSAT": "30001000000500003456", "SelloSAT": FAKE_SEAL})
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _pdf_text(text):
    raw = text.encode("cp1252", "replace").decode("latin-1")
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def invoice_pdf(invoice, company, contact):
    """A one-page PDF (Helvetica, WinAnsi) with the invoice's essentials."""
    stamp = invoice["stamp"]
    lines = [(16, f"FACTURA {invoice['numberTemplate']['fullNumber']}"),
             (9, "SANDBOX LOCAL DE ALEGRA - DOCUMENTO DE PRUEBA SIN VALIDEZ FISCAL"),
             (10, f"Emisor: {company['name']}  RFC {company['identification']}"),
             (10, f"Receptor: {contact['name']}  RFC {contact['identification']}"),
             (10, f"Folio fiscal (UUID): {stamp['uuid']}"),
             (10, f"Fecha de timbrado: {stamp['stampDate']}"),
             (10, f"Uso CFDI {invoice['cfdiUse']}  Metodo {invoice['paymentType']}  "
                  f"Forma {invoice['_sat']['formaPago']}  Moneda {invoice['currency']['code']}"),
             (10, "")]
    for item in invoice["items"]:
        lines.append((10, f"{item['quantity']} x {item['description'][:60]}  "
                          f"{item['price']}  = {item['subtotal']}"))
    lines += [(10, ""), (11, f"Subtotal: {invoice['subtotal']}"),
              (11, f"Descuento: {invoice['discount']}"), (11, f"Impuestos: {invoice['tax']}"),
              (11, f"Retenciones: {invoice['totalRetentions']}"),
              (14, f"Total: {invoice['total']} {invoice['currency']['code']}")]
    ops, y = ["BT"], 760
    for size, text in lines:
        ops.append(f"/F1 {size} Tf 1 0 0 1 50 {y} Tm ({_pdf_text(text)}) Tj")
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
