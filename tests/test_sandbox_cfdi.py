"""The sandbox's CFDI obeys the SAT, and its PDF is a real representación impresa."""
import datetime
import io
import re
from decimal import Decimal

import pytest
from lxml import etree
from pypdf import PdfReader

import conftest
from apunto_fact.extensions import db
from apunto_fact.sandbox import documents
from cfdi_check import structural_errors
from cfdi_check import xsd_errors

C = "{http://www.sat.gob.mx/cfd/4}"
MORAL = dict(conftest.CUSTOMER, rfc="IIA040805DZ4", name="INDISTRIA ILUMINADORA DE ALMACENES",
             regimen="601", cp="62661")
PRODUCTS = [
    dict(conftest.PRODUCT, name="Honorarios", iva="16", ret_isr="10", ret_iva="10.6667"),
    dict(conftest.PRODUCT, name="Bebida", iva="16", ieps="8", clave_unidad="H87",
         clave_prod_serv="50202300", unit_price="37.50"),
    dict(conftest.PRODUCT, name="Libro", iva="exento", clave_unidad="H87",
         clave_prod_serv="55101500", unit_price="250"),
]


@pytest.fixture
def mixed(invoicing):
    """A stamped invoice with IVA 16, IEPS 8, exento, two retentions on one line, a discount."""
    customer_id = invoicing.add_customer(MORAL) if not _existing(invoicing, MORAL) else \
        _existing(invoicing, MORAL)
    ids = [invoicing.add_product(p) for p in PRODUCTS] + invoicing.product_ids
    lines = [{"product_id": ids[0], "description": "Honorarios", "quantity": "2",
              "unit_price": "1500", "discount_pct": "10"},
             {"product_id": ids[1], "description": "Bebida", "quantity": "3",
              "unit_price": "37.50"},
             {"product_id": ids[2], "description": "Libro", "quantity": "1",
              "unit_price": "250"},
             {"product_id": ids[3], "description": "Consultoría", "quantity": "1",
              "unit_price": "999.99"}]
    invoice_id = invoicing.draft(customer_id=customer_id, lines=lines)
    invoicing.stamp(invoice_id, customer_id=customer_id, lines=lines)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "stamped", invoice.problem_message
    xml = invoicing.user.get(f"/facturas/{invoice_id}/xml").data
    pdf = invoicing.user.get(f"/facturas/{invoice_id}/pdf").data
    return invoice, xml, pdf


def _existing(invoicing, data):
    from apunto_fact.customers.models import Customer
    with invoicing.app.app_context():
        row = db.session.query(Customer.id).filter_by(rfc=data["rfc"]).first()
        return row[0] if row else None


def test_mixed_invoice_is_xsd_valid_and_adds_up(mixed):
    invoice, xml, _ = mixed
    assert xsd_errors(xml) == []
    assert structural_errors(xml, emisor_regimen="601") == []
    root = etree.fromstring(xml)
    transfers = {(t.get("Impuesto"), t.get("TipoFactor"), t.get("TasaOCuota"))
                 for t in root.iterfind(f"{C}Impuestos/{C}Traslados/{C}Traslado")}
    assert transfers == {("002", "Tasa", "0.160000"), ("003", "Tasa", "0.080000"),
                         ("002", "Exento", None)}
    retained = [[r.get("Impuesto") for r in c.iterfind(f".//{C}Retencion")]
                for c in root.iterfind(f"{C}Conceptos/{C}Concepto")]
    assert retained == [["001", "002"], [], [], []]  # only the honorarios line retains
    assert root.find(f"{C}Emisor").get("RegimenFiscal") == "601"
    assert Decimal(root.get("Total")) == invoice.total


def test_structural_check_catches_the_old_sandbox_shapes(mixed):
    _, xml, _ = mixed
    root = etree.fromstring(xml)
    summary = root.find(f"{C}Impuestos")
    summary.remove(summary.find(f"{C}Traslados"))  # totals without Traslados
    for concept in root.iterfind(f"{C}Conceptos/{C}Concepto"):
        for taxes in concept.iterfind(f"{C}Impuestos"):
            for rets in taxes.iterfind(f"{C}Retenciones"):
                taxes.remove(rets)  # document retentions without line retentions
    errors = structural_errors(etree.tostring(root), emisor_regimen="612")
    assert any("Traslados del comprobante" in e for e in errors)
    assert any("Retenciones del comprobante" in e for e in errors)
    assert any("RegimenFiscal" in e for e in errors)


def pdf_text(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_is_a_representacion_impresa(mixed):
    invoice, xml, pdf = mixed
    root = etree.fromstring(xml)
    tfd = root.find(".//{http://www.sat.gob.mx/TimbreFiscalDigital}TimbreFiscalDigital")
    text = pdf_text(pdf)
    flat = re.sub(r"\s+", "", text)
    assert "representación impresa de un CFDI" in text
    assert invoice.uuid in flat
    seal, sat_seal = root.get("Sello"), tfd.get("SelloSAT")
    assert "Sellodigital del CFDI".replace(" ", "") in flat and seal in flat
    assert sat_seal in flat
    cadena = (f"||1.1|{invoice.uuid}|{tfd.get('FechaTimbrado')}|{tfd.get('RfcProvCertif')}|"
              f"{seal}|{tfd.get('NoCertificadoSAT')}||")
    assert cadena in flat
    words = documents.amount_in_words(invoice.total, "MXN")
    assert words.endswith("/100 M.N.") and words.replace(" ", "") in flat
    for expected in ("General de Ley Personas Morales (601)", "42501", "62661",
                     "Régimen fiscal del receptor"):
        assert expected.replace(" ", "") in flat, expected
    for concept in root.iterfind(f"{C}Conceptos/{C}Concepto"):
        # Row: ClaveProdServ, Cantidad, ClaveUnidad, … Importe, ObjetoImp, Descuento.
        assert f"{concept.get('ClaveProdServ')}{concept.get('Cantidad')}" \
               f"{concept.get('ClaveUnidad')}" in flat
        assert f"{concept.get('Importe')}{concept.get('ObjetoImp')}" \
               f"{concept.get('Descuento') or '0.00'}" in flat
    for tax in ("TrasladoIVA(002)Tasa0.160000", "TrasladoIEPS(003)Tasa0.080000",
                "TrasladoIVA(002)Exento", "RetenciónISR(001)Tasa0.100000",
                "RetenciónIVA(002)Tasa0.106667", "ISRretenido", "IVAretenido"):
        assert tax in flat, tax
    url = documents.VERIFY_URL + "?id=" + invoice.uuid
    assert url in flat and f"fe={seal[-8:]}" in flat


def test_pdf_qr_encodes_the_sat_verification_url(mixed):
    import segno
    invoice, xml, pdf = mixed
    root = etree.fromstring(xml)
    image = PdfReader(io.BytesIO(pdf)).pages[-1].images[0].image.convert("1")
    url = (f"{documents.VERIFY_URL}?id={invoice.uuid}&re={root.find(f'{C}Emisor').get('Rfc')}"
           f"&rr={root.find(f'{C}Receptor').get('Rfc')}&tt={Decimal(root.get('Total')).normalize():f}"
           f"&fe={root.get('Sello')[-8:]}")
    matrix = segno.make(url, error="m").matrix
    size = len(matrix) + 2  # one module of border
    cell = image.width / size
    read = [[0 if image.getpixel((int((x + 1.5) * cell), int((y + 1.5) * cell))) else 1
             for x in range(len(matrix))] for y in range(len(matrix))]
    assert read == [list(row) for row in matrix]


def test_amount_in_words():
    assert documents.amount_in_words(Decimal("1160.00"), "MXN") == \
        "MIL CIENTO SESENTA PESOS 00/100 M.N."
    assert documents.amount_in_words(Decimal("1.5"), "MXN") == "UNO PESO 50/100 M.N."
    assert documents.amount_in_words(Decimal("2500.07"), "USD") == \
        "DOS MIL QUINIENTOS DÓLARES 07/100 USD"


GENERAL = {"rfc": "XAXX010101000", "name": "PUBLICO EN GENERAL", "regimen": "616",
           "uso_cfdi": "S01", "metodo_pago": "PUE", "forma_pago": "01", "credit_days": "0",
           "partner_type": "cliente", "cp": "42501"}


def test_global_invoice_carries_informacion_global(invoicing, app):
    customer_id = invoicing.add_customer(GENERAL)
    today = datetime.date.today()
    header = {"uso_cfdi": "S01", "forma_pago": "01"}
    live = invoicing.user.post("/facturas/calcular", {
        **invoicing.form(customer_id=customer_id, **header), "_trigger": "customer_id"},
        htmx=True).get_data(as_text=True)
    assert "Factura global (público en general)" in live
    assert 'value="04" selected' in live or 'selected value="04"' in live
    invoice_id = invoicing.draft(customer_id=customer_id, **header)
    blocked = invoicing.stamp(invoice_id, customer_id=customer_id, **header)
    assert blocked.status_code == 422
    assert "Elige la periodicidad de la factura global" in blocked.get_data(as_text=True)
    header.update(global_periodicidad="04", global_meses=f"{today.month:02d}",
                  global_anio=str(today.year))
    invoicing.stamp(invoice_id, customer_id=customer_id, **header)
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "stamped", invoice.problem_message
    xml = invoicing.user.get(f"/facturas/{invoice_id}/xml").data
    assert xsd_errors(xml) == [] and structural_errors(xml, "601") == []
    node = etree.fromstring(xml).find(f"{C}InformacionGlobal")
    assert (node.get("Periodicidad"), node.get("Meses"), node.get("Año")) == (
        "04", f"{today.month:02d}", str(today.year))
    sent = [r for r in invoicing.sandbox_invoices() if r.get("uuid") == invoice.uuid][0]
    assert (sent["periodicity"], sent["months"], sent["year"]) == (
        "04", f"{today.month:02d}", today.year)


def test_global_fields_are_checked_at_the_field(invoicing):
    customer_id = invoicing.add_customer(GENERAL) if not _existing(invoicing, GENERAL) else \
        _existing(invoicing, GENERAL)
    html = invoicing.user.post("/facturas/calcular", {
        **invoicing.form(customer_id=customer_id, uso_cfdi="S01", forma_pago="01",
                         global_periodicidad="04", global_meses="13", global_anio="1999"),
        "_trigger": "global_meses"}, htmx=True).get_data(as_text=True)
    assert 'id="feedback-global_meses"' in html and "bimestre" in html
    assert 'id="feedback-global_anio"' in html and "CFDI40136" in html


@pytest.mark.parametrize("data, field, text", [
    ({"periodicidad": "05", "meses": "13", "anio": 2026}, "global_periodicidad", "621"),
    ({"periodicidad": "04", "meses": "13", "anio": 2026}, "global_meses", "bimestre"),
    ({"periodicidad": "04", "meses": "01", "anio": 2020}, "global_anio", "2026 o 2025"),
    ({"periodicidad": "04", "meses": "12", "anio": 2026}, "global_meses", "futuro"),
    ({"periodicidad": "", "meses": "", "anio": None}, "global_periodicidad", "periodicidad"),
])
def test_global_information_rules(data, field, text):
    from types import SimpleNamespace

    from apunto_fact.sat import rules
    customer = SimpleNamespace(rfc="XAXX010101000", name="Público en general", regimen="616",
                               cp="42501")
    findings = rules.check_global_info({**data, "uso_cfdi": "S01"}, customer, "42501",
                                       datetime.date(2026, 11, 28), "601")
    assert text in findings.errors[field]


def test_global_information_only_for_publico_en_general():
    from types import SimpleNamespace

    from apunto_fact.sat import rules
    customer = SimpleNamespace(rfc="XAXX010101000", name="JUAN PEREZ", regimen="616", cp="1")
    findings = rules.check_global_info({"periodicidad": "04", "meses": "01", "anio": 2026},
                                       customer, "42501", datetime.date(2026, 11, 28))
    assert "solo se indican" in findings.errors["global_periodicidad"]
    assert rules.check_global_info({}, customer, "42501", datetime.date(2026, 11, 28)).errors == {}


def _post_dated(invoicing, app, days_back):
    """POST a stamped invoice dated days_back days before the sandbox's (Mexico's) today."""
    from zoneinfo import ZoneInfo

    from apunto_fact.alegra import AlegraError
    from apunto_fact.invoices import stamping
    from apunto_fact.invoices.models import Invoice
    from apunto_fact.settings import alegra as connection
    issued = datetime.datetime.now(ZoneInfo("America/Mexico_City")).date() - \
        datetime.timedelta(days=days_back)
    invoice_id = invoicing.draft()
    with app.test_request_context():
        client = connection.make_client()
        payload, _ = stamping._payload(client, db.session.get(Invoice, invoice_id), "f14")
        payload.update(date=issued.isoformat(), dueDate=issued.isoformat())
        try:
            return issued, client.post("/invoices", payload), None
        except AlegraError as err:
            return issued, None, err


def test_sandbox_fecha_is_the_invoice_date_at_the_emission_time(invoicing, app, sandbox):
    """ATTACK F14: Alegra writes the invoice's date (not the stamping day) as the CFDI Fecha."""
    issued, body, _ = _post_dated(invoicing, app, 2)
    store = sandbox.app.extensions["sandbox"]["store"]
    xml = store.file(store.get("invoices", body["id"])["_files"]["xml"])
    fecha = etree.fromstring(xml).get("Fecha")
    assert (fecha[:10], body["datetime"][:10]) == (issued.isoformat(), issued.isoformat())


def test_sandbox_refuses_a_fecha_72_hours_old_as_the_sat_would(invoicing, app):
    from apunto_fact.invoices import hints
    _, body, err = _post_dated(invoicing, app, 3)
    assert (body, err.status, err.code, hints.explain(err)[:2]) == (
        None, 400, 3051, ("CFDI40101", "date"))
