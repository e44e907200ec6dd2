"""Synthetic but realistic data for the page benchmarks, inserted in bulk.

Customers and products grow with invoices (a business with 1M invoices has more customers
than one with 1k); the full-text index is filled by its triggers as rows arrive.
"""
import datetime
import random
import uuid

from sqlalchemy import insert
from sqlalchemy import text

from apunto_fact.customers.models import Customer
from apunto_fact.extensions import db
from apunto_fact.invoices.models import Invoice
from apunto_fact.invoices.models import InvoiceLine
from apunto_fact.products.models import Product
from apunto_fact.sat.search import fold
from apunto_fact.timeutil import utcnow

WORDS = ("ABARROTES CONSTRUCTORA COMERCIAL DISTRIBUIDORA SERVICIOS INDUSTRIAL GRUPO "
         "TRANSPORTES FARMACIA PAPELERIA FERRETERIA MUEBLES TALLER CONSULTORES HERMANOS "
         "NORTE SUR CENTRO PACIFICO GOLFO BAJIO ALTOS VALLE SIERRA LAGUNA").split()
CHUNK = 5000


def _rfc(name, rng, taken):
    """An RFC shaped like a real one (initials, birth or founding date, homoclave), unique."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    words = name.split()
    while True:
        day = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randint(0, 14_000))
        rfc = (words[0][:2] + words[1][0] + day.strftime("%y%m%d")
               + "".join(rng.choice(alphabet) for _ in range(3)))
        if rfc not in taken:
            taken.add(rfc)
            return rfc


def _chunks(rows):
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def sizes(invoices):
    """Customers and products for a business with this many invoices."""
    return {"customers": max(50, invoices // 5), "products": max(20, invoices // 20),
            "invoices": invoices}


def populate(customers=None, products=None, invoices=1_000, seed=1):
    """Insert customers, products and invoices (two lines each); return their counts."""
    grown = sizes(invoices)
    customers = customers or grown["customers"]
    products = products or grown["products"]
    rng = random.Random(seed)
    now = utcnow()
    customer_rows, taken = [], set()
    for i in range(customers):
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i:05d}"
        rfc = _rfc(name, rng, taken)
        customer_rows.append({
            "rfc": rfc, "name": name, "regimen": "601", "uso_cfdi": "G03",
            "metodo_pago": "PUE", "forma_pago": "03", "credit_days": 0,
            "partner_type": "cliente", "cp": "06600", "search_text": f"{fold(name)} {rfc.lower()}",
            "created_at": now, "updated_at": now})
    for chunk in _chunks(customer_rows):
        db.session.execute(insert(Customer), chunk)
    product_rows = [{
        "name": f"Servicio {i:05d}", "clave_prod_serv": "80101500", "clave_unidad": "E48",
        "unit_price": f"{rng.randint(100, 50_000)}.{rng.randint(0, 99):02d}", "objeto_imp": "02",
        "iva": "16", "search_text": f"servicio {i:05d}  80101500", "created_at": now,
        "updated_at": now} for i in range(products)]
    for chunk in _chunks(product_rows):
        db.session.execute(insert(Product), chunk)
    db.session.commit()
    start = datetime.date.today() - datetime.timedelta(days=730)
    invoice_rows, line_rows = [], []
    for i in range(1, invoices + 1):
        stamped = rng.random() < 0.85
        invoice_rows.append({
            "id": i, "customer_id": rng.randint(1, customers),
            "date": start + datetime.timedelta(days=rng.randint(0, 730)),
            "currency": "MXN", "uso_cfdi": "G03", "metodo_pago": "PUE", "forma_pago": "03",
            "status": "stamped" if stamped else "draft", "subtotal": "2000.00",
            "discount": "0", "taxes": "320.00", "retentions": "0", "total": "2320.00",
            "uuid": str(uuid.UUID(int=rng.getrandbits(128))).upper() if stamped else None,
            "serie": "A" if stamped else None, "folio": str(i) if stamped else None,
            "created_at": now, "updated_at": now})
        for position in range(2):
            product = rng.randint(1, products)
            line_rows.append({
                "invoice_id": i, "position": position, "product_id": product,
                "description": f"Servicio {product - 1:05d}", "clave_prod_serv": "80101500",
                "clave_unidad": "E48", "quantity": "1", "unit_price": "1000",
                "discount_pct": "0", "objeto_imp": "02", "iva": "16"})
    for chunk in _chunks(invoice_rows):
        db.session.execute(insert(Invoice), chunk)
    for chunk in _chunks(line_rows):
        db.session.execute(insert(InvoiceLine), chunk)
    db.session.commit()
    after_bulk_load()
    return {"customers": customers, "products": products, "invoices": invoices}


def after_bulk_load():
    """What a database needs after rows arrived with explicit ids, outside the ORM.

    PostgreSQL: move each id sequence past the highest id (else the next draft is a
    duplicate key), then ANALYZE as autovacuum would. SQLite needs neither.
    """
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("customers", "products", "invoices", "invoice_lines"):
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
