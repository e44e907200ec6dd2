"""The month's archive: a streamed ZIP with every XML/PDF of the month and a register CSV."""
import csv
import io
import xml.etree.ElementTree as ET
import zipfile
from datetime import date
from decimal import Decimal


from apunto_fact.extensions import db
from apunto_fact.invoices.models import Invoice
from conftest import PRODUCT
from conftest import sandbox_calls
from conftest import sandbox_control
from conftest import set_faults

CFDI = "{http://www.sat.gob.mx/cfd/4}"
MONTH = date.today().strftime("%Y-%m")


def _stamped(invoicing, lines, **header):
    invoice_id = invoicing.draft(lines=lines, **header)
    assert invoicing.stamp(invoice_id, lines=lines, **header).status_code == 200
    invoice = invoicing.invoice(invoice_id)
    assert invoice.status == "stamped", invoice.problem_message
    return invoice


def _month_of_invoices(invoicing, sandbox):
    ieps = invoicing.add_product({**PRODUCT, "name": "Refresco", "clave_prod_serv": "50202306",
                                  "clave_unidad": "H87", "unit_price": "33.33", "ieps": "8"})
    first = _stamped(invoicing, [{"product_id": invoicing.product_ids[0], "quantity": "2"}])
    second = _stamped(invoicing, [{"product_id": ieps, "quantity": "7", "unit_price": "33.33",
                                   "discount_pct": "10"},
                                  {"product_id": invoicing.product_ids[0], "quantity": "1"}])
    third = _stamped(invoicing, [{"product_id": invoicing.product_ids[0], "quantity": "3"}])
    assert invoicing.user.post(f"/facturas/{third.id}/cancelar", {"motive": "02"},
                               htmx=True).status_code == 200
    other_month = _stamped(invoicing, [{"product_id": invoicing.product_ids[0]}])
    with invoicing.app.app_context():
        moved = db.session.get(Invoice, other_month.id)
        moved.date = date(2020, 1, 15)
        db.session.commit()
    return [first, second, invoicing.invoice(third.id)], other_month


def _register(zf):
    raw = zf.read("registro.csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens it as UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_month_zip_holds_every_file_and_a_register_that_adds_up(invoicing, sandbox):
    invoices, other = _month_of_invoices(invoicing, sandbox)
    sandbox_control(sandbox, "stats/reset")
    # Alegra unreachable: every API call would fail; the export must not need any.
    set_faults(sandbox, rules=[{"path": "/", "status": 503, "times": None}])
    response = invoicing.user.get(f"/archivo/mes?mes={MONTH}")
    assert response.status_code == 200 and response.is_streamed
    assert f"apunto-fact-{MONTH}.zip" in response.headers["Content-Disposition"]
    assert sandbox_calls(sandbox)["total"] == 0
    zf = zipfile.ZipFile(io.BytesIO(response.data))
    assert zf.testzip() is None
    names = set(zf.namelist())
    store = sandbox.app.extensions["sandbox"]["store"]
    for invoice in invoices:
        alegra = store.get("invoices", invoice.alegra_id)
        for kind in ("xml", "pdf"):
            entry = f"{kind}/{invoice.serie}{invoice.folio}_{invoice.uuid}.{kind}"
            assert zf.read(entry) == store.file(alegra["_files"][kind])
    assert not any(other.uuid in name for name in names)
    rows = _register(zf)
    assert sorted(r["UUID"] for r in rows) == sorted(i.uuid for i in invoices)
    xmls = [ET.fromstring(zf.read(n)) for n in names if n.startswith("xml/")]
    assert len(xmls) == 3

    def xml_sum(attribute=None, impuesto=None):
        if impuesto:
            return sum((Decimal(t.get("Importe")) for x in xmls
                        for t in x.iterfind(f"{CFDI}Conceptos/{CFDI}Concepto/{CFDI}Impuestos/"
                                            f"{CFDI}Traslados/{CFDI}Traslado")
                        if t.get("Impuesto") == impuesto), Decimal(0))
        return sum((Decimal(x.get(attribute) or 0) for x in xmls), Decimal(0))

    def column(name):
        return sum((Decimal(r[name]) for r in rows), Decimal(0))

    assert column("total") == xml_sum("Total") == Decimal("7223.06")
    assert column("subtotal") == xml_sum("SubTotal")
    assert column("descuento") == xml_sum("Descuento") == Decimal("23.33")
    assert column("IVA") == xml_sum(impuesto="002")
    assert column("IEPS") == xml_sum(impuesto="003") == Decimal("16.80")
    by_uuid = {r["UUID"]: r for r in rows}
    cancelled = by_uuid[invoices[2].uuid]
    assert cancelled["estado"] == "Cancelada" and cancelled["saldo"] == "0.00"
    assert by_uuid[invoices[0].uuid]["pagado"] == by_uuid[invoices[0].uuid]["total"] == "2320.00"
    assert by_uuid[invoices[0].uuid]["RFC"] == "CACX7605101P8"
    assert by_uuid[invoices[0].uuid]["serie-folio"] == f"{invoices[0].serie}{invoices[0].folio}"


def test_cli_export_writes_the_same_month_to_a_file(invoicing, runner, tmp_path):
    invoice = _stamped(invoicing, [{"product_id": invoicing.product_ids[0]}])
    target = tmp_path / "mes.zip"
    result = runner.invoke(args=["export", "--month", MONTH, "--output", str(target)])
    assert result.exit_code == 0, result.output
    zf = zipfile.ZipFile(target)
    assert {f"xml/{invoice.serie}{invoice.folio}_{invoice.uuid}.xml",
            f"pdf/{invoice.serie}{invoice.folio}_{invoice.uuid}.pdf", "registro.csv",
            "LEEME.txt"} == set(zf.namelist())
    assert [r["UUID"] for r in _register(zf)] == [invoice.uuid]


def test_cli_refuses_a_malformed_month(runner):
    result = runner.invoke(args=["export", "--month", "2026-13"])
    assert result.exit_code != 0 and "AAAA-MM" in result.output


def test_month_button_with_a_malformed_month_explains(user):
    response = user.get("/archivo/mes?mes=marzo", follow_redirects=True)
    assert "Indica el mes como AAAA-MM" in response.get_data(as_text=True)


def test_invoice_list_offers_the_month_download(user):
    html = user.get("/facturas/").get_data(as_text=True)
    assert "Descargar mes" in html and f'value="{MONTH}"' in html


def test_register_neutralises_formula_like_cells(invoicing, app):
    invoice = _stamped(invoicing, [{"product_id": invoicing.product_ids[0]}])
    with app.app_context():
        # A hostile name as it could arrive from Alegra or an old import.
        db.session.get(Invoice, invoice.id).customer.name = "=HYPERLINK(\"x\")"
        db.session.commit()
    response = invoicing.user.get(f"/archivo/mes?mes={MONTH}")
    rows = _register(zipfile.ZipFile(io.BytesIO(response.data)))
    assert rows[0]["razón social"] == "'=HYPERLINK(\"x\")"
