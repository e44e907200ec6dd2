"""Sandbox contacts, items and invoices: validated like Alegra Mexico (alegra-api.md §3–§6)."""
import re
import secrets
import time
import uuid as uuidlib
from datetime import date
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from zoneinfo import ZoneInfo

from flask import abort
from flask import jsonify
from flask import request

from ..alegra.mapping import ALEGRA_REGIMES
from ..alegra.mapping import PAYMENT_CODES
from ..alegra.mapping import PAYMENT_SLUGS
from ..alegra.mapping import REGIME_CODES
from ..money import sat_round
from ..sat import catalogs as cat
from ..sat import rules
from ..sat.search import PRODUCTOS
from ..sat.search import UNIDADES
from . import documents
from . import sat_registry
from .api import alegra_error
from .api import bp
from .api import paginate
from .api import state

RFC = re.compile(r"[A-Z&Ñ]{3,4}[0-9]{6}[A-Z0-9]{2}[0-9A]")
MOTIVE_KEYS = ("motive", "reason", "cause", "cancellationReason", "cancelMotive")
REPLACEMENT_KEYS = ("replacementUuid", "uuidReplacement", "substitutionUuid")


class Invalid(Exception):
    """A 400 answer: (message, code, extra fields)."""

    def __init__(self, message, code=400, **extra):
        super().__init__(message)
        self.message, self.code, self.extra = message, code, extra


@bp.errorhandler(Invalid)
def invalid(exc):
    """Answer validation errors with shape 1 of §2.1."""
    return alegra_error(400, exc.message, exc.code, **exc.extra)


def body():
    """The JSON body, or a 400 like Alegra's."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("El cuerpo de la petición debe ser un objeto JSON.")
    return data


def store():
    """The sandbox document store."""
    return state()["store"]


def decimal(value, what):
    """Parse an amount sent as number or string."""
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid(f"El campo {what} debe ser numérico.") from None
    if not result.is_finite():
        raise Invalid(f"El campo {what} debe ser numérico.")
    return result


def money(value):
    """Alegra sends many amounts as strings (§1.4); so does the sandbox."""
    return f"{sat_round(value):.2f}"


def _id_of(value):
    return str(value.get("id")) if isinstance(value, dict) else str(value)


def _filter(rows, field, wanted):
    """A lookup filter under the reading in force: exact, partial (contains) or ignored."""
    mode = settings()["filters"]
    if mode == "ignored":
        return rows
    if mode == "partial":
        return [r for r in rows if wanted.lower() in str(r.get(field) or "").lower()]
    return [r for r in rows if str(r.get(field) or "") == wanted]


# -- contacts ---------------------------------------------------------------------------------
def _validate_contact(data, own_id=None):
    if "name" in data and "nameObject" in data:
        raise Invalid("No se pueden enviar name y nameObject al mismo tiempo.", 2039)
    name = str(data.get("name") or "").strip()
    if not name:
        raise Invalid("El campo name es obligatorio.")
    rfc = str(data.get("identification") or "").strip().upper()
    foreign = data.get("thirdType") == "FOREIGN"
    if not foreign and not RFC.fullmatch(rfc):
        raise Invalid(f"La identificación {rfc or '(vacía)'} no es un RFC válido.")
    # Strict where a source shows Alegra refusing (an enum MX-CAT does not list), liberal
    # where real clients send less (contacts without regime, evidence §5).
    if data.get("regime") is not None and data.get("regime") not in ALEGRA_REGIMES:
        raise Invalid("El campo regime no es un régimen fiscal válido.")
    address = data.get("address") if isinstance(data.get("address"), dict) else {}
    if not re.fullmatch(r"[0-9]{5}", str(address.get("zipCode") or "")):
        raise Invalid("El código postal (address.zipCode) es obligatorio y debe tener 5 dígitos.")
    if data.get("cfdiUse") and data["cfdiUse"] not in cat.USOS_CFDI and data["cfdiUse"] != "P01":
        raise Invalid("El campo cfdiUse no es un uso de CFDI válido.")
    if rfc not in cat.GENERIC_RFCS:
        for other in store().all("contacts"):
            if other["identification"] == rfc and other["id"] != own_id:
                raise Invalid(f"Ya existe un contacto con la identificación {rfc}", 2006,
                              contactId=other["id"])
    kinds = data.get("type") or ["client"]
    return {**{k: v for k, v in data.items() if k != "id"}, "name": name,
            "identification": rfc, "address": address, "status": "active",
            "type": kinds if isinstance(kinds, list) else [kinds]}


@bp.post("/contacts")
def create_contact():
    """Create a contact (400 code 2006 on a repeated RFC)."""
    contact = store().insert("contacts", _validate_contact(body()))
    return jsonify(contact), 201


@bp.put("/contacts/<contact_id>")
def update_contact(contact_id):
    """Replace a contact's data."""
    if store().get("contacts", contact_id) is None:
        abort(404)
    contact = {**_validate_contact(body(), own_id=contact_id), "id": contact_id}
    return jsonify(store().put("contacts", contact))


@bp.get("/contacts")
def list_contacts():
    """List contacts: identification, name, query and type filters."""
    rows = store().all("contacts")
    args = request.args
    if args.get("identification"):
        rows = _filter(rows, "identification", args["identification"].upper())
    if args.get("name"):
        rows = [r for r in rows if args["name"].lower() in r["name"].lower()]
    if args.get("query"):
        q = args["query"].lower()
        rows = [r for r in rows if q in r["name"].lower() or q in r["identification"].lower()]
    if args.get("type"):
        rows = [r for r in rows if args["type"] in r["type"]]
    return paginate("contacts", rows)


@bp.get("/contacts/<contact_id>")
def get_contact(contact_id):
    """Return one contact."""
    return jsonify(store().get("contacts", contact_id) or abort(404))


# -- items ------------------------------------------------------------------------------------
def _validate_item(data):
    name = str(data.get("name") or "").strip()
    if not name:
        raise Invalid("El campo name es obligatorio.")
    if len(name) > 150:
        raise Invalid("El nombre del ítem no puede pasar de 150 caracteres.")
    price = data.get("price")
    if isinstance(price, list):
        price = price[0].get("price") if price and isinstance(price[0], dict) else None
    if price is None:
        raise Invalid("El campo price es obligatorio.")
    price = decimal(price, "price")
    key = str(data.get("productKey") or "")
    if PRODUCTOS.get(key) is None:
        raise Invalid(f"La clave de producto o servicio {key or '(vacía)'} no existe en el "
                      f"catálogo del SAT.")
    # Either reading of the unit field (evidence §3): top-level unit or inventory.unit.
    unit = str(data.get("unit") or (data.get("inventory") or {}).get("unit") or "")
    if UNIDADES.get(unit) is None:
        raise Invalid(f"La unidad {unit or '(vacía)'} no existe en el catálogo del SAT.")
    taxes = []
    for tax in data.get("tax") or []:
        found = store().get("taxes", _id_of(tax))
        if found is None:
            raise Invalid(f"El impuesto {_id_of(tax)} no existe.")
        taxes.append(found)
    return {**{k: v for k, v in data.items() if k != "id"}, "name": name,
            "price": [{"idPriceList": "1", "price": f"{price}"}], "tax": taxes,
            "status": "active"}


@bp.post("/items")
def create_item():
    """Create an item."""
    return jsonify(store().insert("items", _validate_item(body()))), 201


@bp.put("/items/<item_id>")
def update_item(item_id):
    """Replace an item's data."""
    if store().get("items", item_id) is None:
        abort(404)
    return jsonify(store().put("items", {**_validate_item(body()), "id": item_id}))


@bp.get("/items")
def list_items():
    """List items: query and reference filters."""
    rows = store().all("items")
    if request.args.get("reference"):
        rows = _filter(rows, "reference", request.args["reference"])
    if request.args.get("query"):
        q = request.args["query"].lower()
        rows = [r for r in rows if q in r["name"].lower() or q in str(r.get("reference")).lower()]
    return paginate("items", rows)


@bp.get("/items/<item_id>")
def get_item(item_id):
    """Return one item."""
    return jsonify(store().get("items", item_id) or abort(404))


# -- invoices ---------------------------------------------------------------------------------
class StampRejected(Exception):
    """The PAC/SAT refused the CFDI: Alegra relays it as code 3051 in shape 2 (§2.4)."""

    def __init__(self, sat_code, text):
        super().__init__(text)
        self.sat_code, self.text = sat_code, text


@bp.errorhandler(StampRejected)
def stamp_rejected(exc):
    """Synthetic message in the form integrators report (alegra-api.md §2.4)."""
    response = jsonify({"error": {"code": 3051,
                                  "message": f"Error al timbrar: {exc.sat_code} - {exc.text}"}})
    response.status_code = 400
    return response


def settings():
    """Sandbox behaviour switches: cancel delay and outcome, and the evidence's readings."""
    from .api import DEFAULT_SETTINGS
    return state().setdefault("settings", dict(DEFAULT_SETTINGS))


def _now():
    return datetime.now(ZoneInfo("America/Mexico_City")).replace(microsecond=0)


def _date(data, key):
    value = data.get(key)
    if not value:
        raise Invalid(f"El campo {key} es obligatorio")
    try:
        # Real clients send ISO date-times too (evidence §5): the date part counts.
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise Invalid(f"El campo {key} debe tener el formato yyyy-MM-dd.") from None


def _line(raw):
    item = store().get("items", _id_of(raw)) if isinstance(raw, dict) and raw.get("id") else None
    if item is None:
        raise Invalid("Cada ítem de la factura debe tener el id de un ítem existente.")
    quantity = decimal(raw.get("quantity", 1), "quantity")
    if quantity <= 0:
        raise Invalid("La cantidad de cada ítem debe ser mayor que cero.")
    price = decimal(raw.get("price", item["price"][0]["price"]), "price")
    if price < 0:
        raise Invalid("El precio no puede ser negativo.")
    discount = decimal(raw.get("discount") or 0, "discount")
    if not 0 <= discount <= 100:
        raise Invalid("El descuento es un porcentaje entre 0 y 100.")
    taxes = [store().get("taxes", _id_of(t)) for t in raw.get("tax", item.get("tax", []))]
    if None in taxes:
        raise Invalid("Uno de los impuestos del ítem no existe.")
    importe = sat_round(quantity * price)
    discount_amount = sat_round(importe * discount / 100)
    base = importe - discount_amount
    # IEPS is part of the IVA base, as the SAT computes it.
    ieps = sum((sat_round(base * Decimal(t["percentage"]) / 100) for t in taxes
                if t["type"] == "IEPS"), Decimal(0))
    applied = []
    for tax in taxes:
        taxable = base + ieps if tax["type"] == "IVA" else base
        amount = Decimal(0) if tax.get("exempt") else sat_round(
            taxable * Decimal(tax["percentage"]) / 100)
        applied.append({**tax, "base": money(taxable), "amount": money(amount)})
    return {"id": item["id"], "name": item["name"], "reference": str(item.get("reference", "")),
            "description": str(raw.get("description") or item["name"])[:1000],
            "price": f"{price}", "quantity": f"{quantity}", "discount": f"{discount}",
            "discountAmount": money(discount_amount), "subtotal": money(importe),
            "productKey": str(raw.get("productKey") or item.get("productKey")),
            "unit": item.get("unit") or (item.get("inventory") or {}).get("unit", "E48"),
            "tax": applied,
            "_base": base}


def _payment(data, contact):
    kind = data.get("paymentType")
    if kind not in ("PUE", "PPD"):
        raise Invalid("El campo paymentType debe ser PUE o PPD.")
    forma = PAYMENT_CODES.get(data.get("paymentMethod"))
    if data.get("paymentMethod") == "nominative":
        forma = "99"  # listed by CODE, with no SAT forma of its own
    if forma is None or data.get("paymentMethod") not in PAYMENT_SLUGS:
        raise Invalid("El campo paymentMethod no es una forma de pago válida.")
    if kind == "PPD" and forma != "99":
        raise StampRejected("CFDI40105", "Este atributo debe contener el valor '99' cuando el "
                                         "atributo MetodoPago contenga el valor 'PPD'.")
    use = data.get("cfdiUse") or contact.get("cfdiUse")
    regime = REGIME_CODES.get(contact.get("regime"))
    if regime is None:
        raise StampRejected("CFDI40158", "La clave del campo RegimenFiscalR debe corresponder "
                                         "con el régimen registrado en el SAT para el RFC del "
                                         "receptor (el contacto no tiene un régimen con clave "
                                         "del SAT).")
    persona = cat.MORAL if len(contact["identification"]) == 12 else cat.FISICA
    if use not in cat.usos_for(regime, persona):
        raise StampRejected("CFDI40161", "La clave del campo UsoCFDI debe corresponder con el "
                                         "tipo de persona (física o moral) y el régimen "
                                         "correspondiente conforme al catálogo c_UsoCFDI.")
    return forma, use, regime


def _template(data):
    wanted = data.get("numberTemplate")
    templates = store().all("number-templates")
    if wanted:
        template = store().get("number-templates", _id_of(wanted))
        if template is None:
            raise Invalid("La numeración indicada no existe.")
    else:
        template = next((t for t in templates if t["documentType"] == "invoice"
                         and t["isDefault"]), None)
    if template is None or not template.get("isElectronic"):
        raise Invalid("Para timbrar se necesita una numeración electrónica de facturas.")
    return template


def _currency(data):
    currency = data.get("currency") or {"code": "MXN", "exchangeRate": 1}
    code = currency.get("code", "MXN")
    if code != "MXN":
        rate = decimal(currency.get("exchangeRate") or 0, "currency.exchangeRate")
        if rate <= 0:
            raise Invalid("Para una moneda distinta de MXN el tipo de cambio es obligatorio.")
        return {"code": code, "exchangeRate": f"{rate}"}
    return {"code": "MXN", "exchangeRate": 1}


def _build_invoice(data):
    """Validate the body and compute the invoice, without saving or stamping it."""
    issued, due = _date(data, "date"), _date(data, "dueDate")
    if due < issued:
        raise Invalid("La fecha de vencimiento no puede ser anterior a la fecha de la factura.")
    client = data.get("client")
    contact = store().get("contacts", _id_of(client)) if client else None
    if contact is None:
        raise Invalid("El campo client es obligatorio y debe ser un contacto existente.", 3003)
    if not data.get("items"):
        raise Invalid("El campo items es obligatorio y no puede estar vacio")
    lines = [_line(raw) for raw in data["items"]]
    retentions = []
    for raw in data.get("retentions") or []:
        found = store().get("retentions", _id_of(raw))
        if found is None:
            raise Invalid(f"La retención {_id_of(raw)} no existe.")
        # Without an amount, every line retains it, each rounded as the SAT does.
        amount = decimal(raw["amount"], "amount") if isinstance(raw, dict) and \
            raw.get("amount") is not None else sum(
                (sat_round(line["_base"] * documents.rate(found["percentage"]))
                 for line in lines), Decimal(0))
        retentions.append({**found, "amount": money(amount)})
    subtotal = sum((Decimal(x["subtotal"]) for x in lines), Decimal(0))
    discount = sum((Decimal(x["discountAmount"]) for x in lines), Decimal(0))
    tax = sum((Decimal(t["amount"]) for x in lines for t in x["tax"]), Decimal(0))
    retained = sum((Decimal(r["amount"]) for r in retentions), Decimal(0))
    for line in lines:
        del line["_base"]
    return contact, {
        "date": issued.isoformat(), "dueDate": due.isoformat(),
        "datetime": rules.cfdi_fecha(issued, _now()).strftime("%Y-%m-%d %H:%M:%S"),
        "client": {"id": contact["id"], "name": contact["name"],
                   "identification": contact["identification"]},
        "items": lines, "retentions": retentions, "currency": _currency(data),
        "subtotal": money(subtotal), "discount": money(discount), "tax": money(tax),
        "totalRetentions": money(retained), "total": money(subtotal - discount + tax - retained),
        "totalPaid": "0.00", "balance": money(subtotal - discount + tax - retained),
        "decimalPrecision": "2", "observations": str(data.get("observations") or "")[:500],
        "anotation": str(data.get("anotation") or "")[:500],
        "paymentType": data.get("paymentType"), "paymentMethod": data.get("paymentMethod"),
        "cfdiUse": data.get("cfdiUse") or contact.get("cfdiUse"),
        "status": data.get("status") or "draft", "emissionStatus": "PENDING",
        "_template": _template(data)["id"], "_cancelAttempts": 0,
        **_global_info(data),
    }


def _global_info(data):
    """periodicity/months/year of a factura global (evidence §4), checked as the SAT does."""
    if not any(data.get(k) for k in ("periodicity", "months", "year")):
        return {}
    periodicity, months = str(data.get("periodicity") or ""), str(data.get("months") or "")
    try:
        year = int(data.get("year"))
    except (TypeError, ValueError):
        year = None
    if periodicity not in cat.PERIODICIDADES:
        raise StampRejected("CFDI40131", "El campo Periodicidad no contiene un valor del "
                                         "catálogo c_Periodicidad.")
    if months not in cat.MESES:
        raise StampRejected("CFDI40133", "El campo Meses no contiene un valor del catálogo "
                                         "c_Meses.")
    if (periodicity == "05") != (months > "12"):
        raise StampRejected("CFDI40134", "Con periodicidad bimestral (05) los meses son 13 a "
                                         "18; con otra periodicidad, 01 a 12.")
    if year is None or not _now().year - 1 <= year <= _now().year:
        raise StampRejected("CFDI40136", "El campo Año debe ser el ejercicio actual o el "
                                         "anterior.")
    return {"periodicity": periodicity, "months": months, "year": year}


def _stamp(invoice, contact):
    """Run the SAT checks, take the next folio, sign, and make the XML and PDF."""
    now = _now()
    fecha = rules.cfdi_fecha(date.fromisoformat(invoice["date"]), now)
    # A Fecha ahead of Mexico's clock is not refused here: the app's "today" is the machine's
    # date (a UTC machine is a day ahead every evening); see NOTES (i9b, F14).
    if rules.fecha_too_old(fecha, now):
        raise StampRejected("CFDI40101", "La fecha de emisión del comprobante no está dentro "
                                         "de las 72 horas anteriores a su certificación.")
    invoice["datetime"] = fecha.strftime("%Y-%m-%d %H:%M:%S")  # Alegra: date + emission time
    forma, use, regime = _payment(invoice, contact)
    problem = sat_registry.check(contact["identification"], contact["name"],
                                 contact["address"]["zipCode"], regime)
    if problem:
        raise StampRejected(*problem)
    company = store().get("company", 1)
    if documents.emisor_regimen(company) is None or not company.get("identification"):
        raise StampRejected("CFDI40141", "El RFC y el régimen fiscal del emisor son "
                                         "obligatorios: complétalos en Configuración → Empresa.")
    if not (company.get("address") or {}).get("zipCode"):
        raise StampRejected("CFDI40126", "El código postal del lugar de expedición es "
                                         "obligatorio: complétalo en Configuración → Empresa.")
    if contact["name"].strip().upper() == "PUBLICO EN GENERAL" and not invoice.get("periodicity"):
        raise StampRejected("CFDI40130", "Para un CFDI de ingreso a PUBLICO EN GENERAL el nodo "
                                         "InformacionGlobal (periodicidad, meses y año) es "
                                         "obligatorio.")
    if invoice.get("periodicity") == "05" and company.get("regime") != \
            "FISCAL_INCORPORATION_REGIME":
        raise StampRejected("CFDI40132", "La periodicidad 05 (bimestral) solo aplica al "
                                         "régimen 621 del emisor.")
    template = store().get("number-templates", invoice["_template"])
    number = int(template["nextInvoiceNumber"])
    store().put("number-templates", {**template, "nextInvoiceNumber": number + 1})
    stamp_uuid = str(uuidlib.uuid4()).upper()
    invoice.update({
        "numberTemplate": {"id": template["id"], "prefix": template["prefix"],
                           "number": str(number), "fullNumber": f"{template['prefix']}{number}"},
        "status": "open", "emissionStatus": "STAMPED_AND_ACCEPTED", "uuid": stamp_uuid,
        "stamp": {"uuid": stamp_uuid, "stampDate": _now().strftime("%Y-%m-%d %H:%M:%S"),
                  "version": "4.0"},
        "cfdiUse": use, "_sat": {"formaPago": forma, "regimen": regime},
        "_files": {"pdf": secrets.token_urlsafe(16), "xml": secrets.token_urlsafe(16)},
    })
    store().put_file(invoice["_files"]["xml"], documents.cfdi_xml(invoice, company, contact))
    store().put_file(invoice["_files"]["pdf"], documents.invoice_pdf(invoice, company, contact))


def api_view(record):
    """A stored document as the API shows it: internal keys hidden, file URLs when asked."""
    public = {k: v for k, v in record.items() if not k.startswith("_")}
    fields = {f.strip() for f in request.args.get("fields", "").split(",")}
    files = record.get("_files")
    for kind in ("pdf", "xml"):
        if kind in fields:
            public[kind] = f"{request.host_url}files/{files[kind]}" if files else None
    return public


def _public(invoice):
    """The invoice as the API shows it."""
    public = api_view(_settle_cancellation(invoice))
    if settings()["number_template"] == "array" and isinstance(public.get("numberTemplate"), dict):
        public["numberTemplate"] = [public["numberTemplate"]]  # SCHEMA: array|object
    return public


@bp.post("/invoices")
def create_invoice():
    """Create an invoice, stamping it in the same call when stamp.generateStamp is true."""
    data = body()
    contact, invoice = _build_invoice(data)
    if (data.get("stamp") or {}).get("generateStamp"):
        try:
            _stamp(invoice, contact)
        except StampRejected:
            # Either reading of evidence §3: nothing saved, or the invoice left behind
            # as rejected by the SAT (posting again then makes a second document).
            if settings()["rejected_leaves_invoice"]:
                store().insert("invoices", {**invoice, "status": "open",
                                            "emissionStatus": "STAMPED_AND_REJECTED"})
            raise
    saved = store().insert("invoices", invoice)
    return jsonify(_public(saved)), 201


@bp.get("/invoices")
def list_invoices():
    """List invoices: client_id, date, status, numberTemplate_fullNumber and query filters."""
    args = request.args
    rows = [_settle_cancellation(r) for r in store().all("invoices")]
    if args.get("client_id"):
        rows = [r for r in rows if r["client"]["id"] == args["client_id"]]
    if args.get("date"):
        rows = [r for r in rows if r["date"] == args["date"]]
    if args.get("status"):
        rows = [r for r in rows if r["status"] == args["status"]]
    if args.get("numberTemplate_fullNumber"):
        rows = [r for r in rows if (r.get("numberTemplate") or {}).get("fullNumber")
                == args["numberTemplate_fullNumber"]]
    if args.get("query"):
        q = args["query"].lower()
        rows = [r for r in rows if q in r["client"]["name"].lower() or q in r["observations"]]
    shown = [_public(r) for r in rows]
    if not settings()["list_observations"]:
        shown = [{k: v for k, v in r.items() if k not in ("observations", "anotation")}
                 for r in shown]
    return paginate("invoices", shown)


@bp.get("/invoices/<invoice_id>")
def get_invoice(invoice_id):
    """Return one invoice; fields=pdf,xml adds download URLs (§6.5)."""
    return jsonify(_public(store().get("invoices", invoice_id) or abort(404)))


@bp.post("/invoices/stamp")
def stamp_batch():
    """Stamp up to 10 draft/open invoices (§6.4); one result per id."""
    ids = body().get("ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 10:
        raise Invalid("El campo ids debe tener entre 1 y 10 facturas.")
    results = []
    for invoice_id in ids:
        invoice = store().get("invoices", invoice_id)
        if invoice is None or invoice["emissionStatus"] != "PENDING":
            results.append({"id": str(invoice_id), "success": False,
                            "error": {"code": 400, "message": "La factura no existe o ya fue "
                                                               "timbrada."}})
            continue
        try:
            _stamp(invoice, store().get("contacts", invoice["client"]["id"]))
        except StampRejected as exc:
            results.append({"id": str(invoice_id), "success": False,
                            "error": {"code": 3051, "message": f"{exc.sat_code} - {exc.text}"}})
            continue
        store().put("invoices", invoice)
        results.append({"id": str(invoice_id), "success": True, "uuid": invoice["uuid"]})
    return jsonify({"results": results})  # an object, as the CLI decodes it (evidence §2)


def _settle_cancellation(invoice):
    """After the delay, a waiting cancellation is accepted (or refused) on the next read."""
    requested = invoice.get("_cancelRequestedAt")
    if requested is None or invoice.get("emissionStatus") == "STAMPED_AND_CANCELLED":
        return invoice
    if time.time() - requested < settings()["cancel_delay"]:
        return invoice
    if settings()["cancel_outcome"] == "refuse":
        invoice.update(emissionStatus="STAMPED_AND_ACCEPTED", status="open",
                       _cancelRequestedAt=None)
    else:
        invoice["emissionStatus"] = "STAMPED_AND_CANCELLED"
    return store().put("invoices", invoice)


@bp.post("/invoices/<invoice_id>/void")
def void_invoice(invoice_id):
    """Void; for a stamped CFDI this asks the SAT to cancel with a motive (§6.7)."""
    invoice = store().get("invoices", invoice_id) or abort(404)
    data = body() if request.data else {}
    motive = next((str(data[k]) for k in MOTIVE_KEYS if data.get(k)), None)
    replacement = next((str(data[k]).upper() for k in REPLACEMENT_KEYS if data.get(k)), None)
    if invoice.get("emissionStatus") in ("PENDING", "STAMPED_AND_REJECTED"):
        invoice["status"] = "void"
        return jsonify(_public(store().put("invoices", invoice)))
    if invoice.get("emissionStatus") != "STAMPED_AND_ACCEPTED" or \
            invoice.get("_cancelRequestedAt") is not None:
        raise Invalid("La factura ya está cancelada o en proceso de cancelación.")
    if motive not in cat.MOTIVOS_CANCELACION:
        raise Invalid("Indica el motivo de cancelación del SAT (01, 02, 03 o 04).")
    if motive == "01":
        others = [r for r in store().all("invoices") if r.get("uuid") == replacement
                  and r["id"] != invoice["id"] and r["emissionStatus"] == "STAMPED_AND_ACCEPTED"]
        if not others:
            raise Invalid("Con el motivo 01 se necesita el folio fiscal (UUID) de la factura "
                          "timbrada que sustituye a esta.")
    if invoice["_cancelAttempts"] >= 5:
        raise Invalid("Se alcanzó el máximo de 5 intentos de cancelación para este documento.")
    # While in process the status reads "waiting", or stays ACCEPTED (evidence §2).
    waiting = settings()["cancel_in_process"] == "waiting"
    invoice.update(status="void", emissionStatus="CANCELLED_AND_WAITING_RESPONSE" if waiting
                   else "STAMPED_AND_ACCEPTED",
                   cancelMotive=motive, replacementUuid=replacement,
                   _cancelRequestedAt=time.time(),
                   _cancelAttempts=invoice["_cancelAttempts"] + 1)
    return jsonify(_public(store().put("invoices", invoice)))
