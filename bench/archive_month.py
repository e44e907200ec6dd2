"""Exporting a month of 5,000 invoices through the real server: time and peak memory."""
import datetime
import os
import tempfile
import time
import uuid

from sqlalchemy import update

from .harness import signed_in_client
from .http import Server

COUNT = int(os.environ.get("BENCH_ARCHIVE_COUNT", "5000"))
TARGET_SECONDS = 120
TARGET_GROWTH_MB = 40  # what the export may add to the server's peak: it must stream

XML = """<?xml version="1.0" encoding="UTF-8"?>
<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0" Serie="A" Folio="{folio}" \
Fecha="{day}T10:00:00" SubTotal="2000.00" Moneda="MXN" Total="2320.00" TipoDeComprobante="I" \
Exportacion="01" MetodoPago="PUE" LugarExpedicion="42501">{padding}
<cfdi:Impuestos TotalImpuestosTrasladados="320.00"><cfdi:Traslados><cfdi:Traslado Base="2000.00" \
Impuesto="002" TipoFactor="Tasa" TasaOCuota="0.160000" Importe="320.00"/></cfdi:Traslados>\
</cfdi:Impuestos><cfdi:Complemento><tfd:TimbreFiscalDigital \
xmlns:tfd="http://www.sat.gob.mx/TimbreFiscalDigital" UUID="{uuid}"/></cfdi:Complemento>\
</cfdi:Comprobante>"""


def _month_of_files(app, folder, month_start):
    """Give every invoice of the dataset the same month and write its XML and PDF."""
    from apunto_fact.extensions import db
    from apunto_fact.invoices.models import Invoice

    from .dataset import populate
    populate(customers=500, products=50, invoices=COUNT)
    padding = "<!-- " + "x" * 3000 + " -->"  # a real CFDI weighs 4–8 KB
    pdf = b"%PDF-1.4\n" + os.urandom(20_000) + b"\n%%EOF\n"  # incompressible, like a real one
    base = os.path.join(folder, "archivo", month_start.strftime("%Y"), month_start.strftime("%m"))
    os.makedirs(base, exist_ok=True)
    rows = db.session.query(Invoice.id).all()
    for (invoice_id,) in rows:
        day = month_start + datetime.timedelta(days=invoice_id % 28)
        stamp = str(uuid.uuid4()).upper()
        name = f"A{invoice_id}_{stamp}"
        with open(os.path.join(base, name + ".xml"), "w", encoding="utf-8") as fh:
            fh.write(XML.format(folio=invoice_id, day=day.isoformat(), padding=padding,
                                uuid=stamp))
        with open(os.path.join(base, name + ".pdf"), "wb") as fh:
            fh.write(pdf)
        relative = os.path.join(month_start.strftime("%Y"), month_start.strftime("%m"), name)
        db.session.execute(update(Invoice).where(Invoice.id == invoice_id).values(
            status="stamped", date=day, uuid=stamp, serie="A", folio=str(invoice_id),
            xml_path=relative + ".xml", pdf_path=relative + ".pdf"))
    db.session.commit()


def run():
    """Return the result row of exporting a month of COUNT invoices."""
    if not os.path.exists("/proc/self/status"):
        return [{"what": f"Exportar un mes de {COUNT:,} facturas", "value": "no medible aquí",
                 "target": "—", "ok": None}]
    month_start = datetime.date.today().replace(day=1)
    with tempfile.TemporaryDirectory() as folder:
        app, _ = signed_in_client(folder)
        with app.app_context():
            _month_of_files(app, folder, month_start)
        with Server(folder) as server:
            session = server.session()
            session.get(server.base + "/facturas/")
            before = server.peak_kb()
            started = time.monotonic()
            size = 0
            with session.get(server.base + f"/archivo/mes?mes={month_start:%Y-%m}",
                             stream=True, timeout=600) as response:
                response.raise_for_status()
                for chunk in response.iter_content(256 * 1024):
                    size += len(chunk)
            elapsed = time.monotonic() - started
            growth = (server.peak_kb() - before) / 1024
    ok = elapsed <= TARGET_SECONDS and growth <= TARGET_GROWTH_MB
    return [{"what": f"Exportar un mes de {COUNT:,} facturas (ZIP de {size / 2**20:.0f} MB "
                     f"por HTTP)",
             "value": f"{elapsed:.1f} s; memoria máxima del servidor +{growth:.1f} MB",
             "target": f"≤ {TARGET_SECONDS} s y ≤ +{TARGET_GROWTH_MB} MB", "ok": ok}]


if __name__ == "__main__":
    print(run())
