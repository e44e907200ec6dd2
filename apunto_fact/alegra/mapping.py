"""Every Alegra field name and value mapping lives here (alegra-api.md).

Several names are UNCERTAIN in the public sources; a check against a real account fixes
them in this one module. Parsers are liberal: ids and amounts may be strings or numbers.
"""
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from decimal import InvalidOperation


def to_id(value):
    """Return an Alegra id as an opaque string (ids changed from numbers to strings, §1.4)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def to_decimal(value, default=None):
    """Parse an Alegra amount given as a string or a number into Decimal."""
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default


@dataclass(frozen=True)
class CompanyInfo:
    """What we read from GET /company."""

    name: str
    rfc: str
    regime: str | None
    zip_code: str | None


def company_from_alegra(body):
    """Map the GET /company response (§1.1)."""
    body = body if isinstance(body, dict) else {}
    address = body.get("address") if isinstance(body.get("address"), dict) else {}
    identification = body.get("identification")
    if isinstance(identification, dict):
        identification = identification.get("number")
    return CompanyInfo(
        name=str(body.get("name") or "").strip(),
        rfc=str(identification or "").strip().upper(),
        regime=body.get("regime"),
        zip_code=address.get("zipCode"),
    )


def contact_rfc(body):
    """The RFC of a contact row, as Alegra returns it (string or identificationObject)."""
    value = body.get("identification")
    if isinstance(value, dict):
        value = value.get("number")
    if not value and isinstance(body.get("identificationObject"), dict):
        value = body["identificationObject"].get("number")
    return str(value or "").strip().upper()


def item_reference(body):
    """The reference of an item row (a string, or an object with a reference in some countries)."""
    value = body.get("reference")
    if isinstance(value, dict):
        value = value.get("reference")
    return str(value or "").strip()


# -- SAT codes ↔ Alegra values ----------------------------------------------------------------
# alegra-api.md §3.2. Codes marked † there are UNCERTAIN; those without any Alegra entry
# (607, 608, 610, 614, 615) are our best guess from the enum's naming style: a real account
# will say, and this is the one place to fix them.
REGIMES = {
    "601": "GENERAL_REGIME_OF_MORAL_PEOPLE_LAW",
    "603": "REGIME_OF_MORAL_PEOPLE_NOT_PROFIT",
    "605": "SALARIED_REGIME",
    "606": "LEASEHOLD_REGIME",
    "607": "ALIENATION_OR_ACQUISITION_OF_GOODS_REGIME",  # guess
    "608": "OTHER_INCOME_REGIME",  # guess
    "610": "FOREIGN_RESIDENTS_WITHOUT_PERMANENT_ESTABLISHMENT",  # guess
    "611": "DIVIDEND_INCOME",
    "612": "BUSINESS_ACTIVITIES_REGIME",
    "614": "INTEREST_INCOME_REGIME",  # guess
    "615": "PRIZES_INCOME_REGIME",  # guess
    "616": "SIMPLIFIED_REGIME",  # "Sin obligaciones fiscales", not RESICO (§10.2)
    "620": "REGIME_OF_COOPERATIVE_PRODUCTION_SOCIETIES",
    "621": "FISCAL_INCORPORATION_REGIME",
    "622": "PRIMARY_SECTOR_REGIME",
    "623": "SOCIETIES_OPTIONAL_REGIME",
    "624": "REGIME_OF_THE_COORDINATED",
    "625": "REGIME_OF_THE_TECHNOLOGICAL_PLATFORMS_INCOME_ACTIVITIES",
    "626": "REGIME_OF_TRUST",  # RESICO
}
REGIME_CODES = {v: k for k, v in REGIMES.items()}

# FormaPago → Alegra paymentMethod slug (§6.2; the rarer pairings are UNCERTAIN).
PAYMENT_METHODS = {
    "01": "cash", "02": "check", "03": "transfer", "04": "credit-card", "05": "electronic-wallet",
    "06": "electronic-money", "08": "grocery-voucher", "12": "dation-payment",
    "13": "subrogation-payment", "14": "allocation-payment", "15": "forgiveness",
    "17": "compensation", "23": "novation", "24": "misunderstanding", "25": "debt-remission",
    "26": "prescription-or-expiration", "27": "creditor-satisfaction", "28": "debit-card",
    "29": "service-card", "30": "advance-application",  # guess
    "31": "payment-intermediary", "99": "other",
}
PAYMENT_CODES = {v: k for k, v in PAYMENT_METHODS.items()}

PARTNER_TYPES = {"cliente": ["client"], "proveedor": ["provider"], "ambos": ["client", "provider"]}
SERVICE_UNITS = {"E48", "ACT", "HUR", "DAY", "MON", "WEE", "ANN", "A9", "E51"}
MARKER_PREFIX = "apunto:"
# Tax and retention kinds as Alegra types them (§5, UNCERTAIN for Mexico).
TAX_TYPES = {"iva": "IVA", "ieps": "IEPS"}
RETENTION_TYPES = {"ret_isr": "ISR", "ret_iva": "IVA"}


def wire_number(value):
    """A Decimal as a JSON number without losing digits (no binary float rounding).

    Money never lives as float in the app; this is only the wire format, and it is
    checked: an amount whose float form is not exact is sent as a string instead.
    """
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value.normalize() else str(value)


def fingerprint(payload):
    """A stable hash of what we send, to skip re-sending unchanged records."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def contact_payload(customer):
    """POST/PUT /contacts body for a customer (§3.1, §3.4)."""
    foreign = customer.rfc == "XEXX010101000"
    address = {"street": customer.street or "", "exteriorNumber": customer.exterior or "",
               "interiorNumber": customer.interior or "", "colony": customer.colonia or "",
               "municipality": customer.municipio or "", "state": customer.estado or "",
               "zipCode": customer.cp, "country": "MEX"}
    payload = {
        "name": customer.name,
        "identification": customer.rfc,
        "thirdType": "FOREIGN" if foreign else "NATIONAL",
        # Real integrations send both; "taxRegime" is silently ignored (§10.2).
        "regime": REGIMES[customer.regimen],
        "regimeObject": [REGIMES[customer.regimen]],
        "cfdiUse": customer.uso_cfdi,
        "paymentType": customer.metodo_pago,
        "paymentMethod": PAYMENT_METHODS.get(customer.forma_pago, "other"),
        "address": address,
        "type": PARTNER_TYPES.get(customer.partner_type, ["client"]),
        "term": {"days": customer.credit_days},
    }
    if customer.email:
        payload["email"] = customer.email
    return payload


def item_payload(product, tax_ids):
    """POST/PUT /items body for a product (§4); tax_ids are Alegra ids of its traslados."""
    return {
        "name": product.name,
        "reference": product.sku or f"apunto-{product.id}",
        "price": [{"idPriceList": 1, "price": wire_number(product.unit_price)}],
        "tax": [{"id": t} for t in tax_ids],
        "type": "service" if product.clave_unidad in SERVICE_UNITS else "product",
        "productKey": product.clave_prod_serv,
        # The SAT ClaveUnidad most likely travels as inventory.unit (UNCERTAIN, §4).
        "inventory": {"unit": product.clave_unidad},
    }


def invoice_payload(invoice, contact_id, lines, retentions, template_id, marker, due_date):
    """POST /invoices body that creates and stamps in one call (§6.2, §6.4).

    ``lines`` is [(line, item_id, tax_ids)], ``retentions`` is [(retention_id, amount)].
    The attempt marker goes in ``observations`` (internal, not printed) so a timed-out
    attempt can be found by reading; the user's note goes in ``anotation`` (printed).
    """
    payload = {
        "date": invoice.date.isoformat(),
        "dueDate": due_date.isoformat(),
        "client": {"id": contact_id},
        "status": "open",
        "paymentType": invoice.metodo_pago,
        "paymentMethod": PAYMENT_METHODS.get(invoice.forma_pago, "other"),
        "cfdiUse": invoice.uso_cfdi,
        "numberTemplate": {"id": template_id},
        "observations": f"{MARKER_PREFIX}{marker}",
        "items": [{
            "id": item_id,
            "price": wire_number(line.unit_price),
            "quantity": wire_number(line.quantity),
            "discount": wire_number(line.discount_pct or 0),
            "description": line.description,
            "productKey": line.clave_prod_serv,
            "tax": [{"id": t} for t in tax_ids],
        } for line, item_id, tax_ids in lines],
        "stamp": {"generateStamp": True},
    }
    if retentions:
        payload["retentions"] = [{"id": rid, "amount": wire_number(amount)}
                                 for rid, amount in retentions]
    if invoice.observations:
        payload["anotation"] = invoice.observations
    if invoice.currency != "MXN":
        payload["currency"] = {"code": invoice.currency,
                               "exchangeRate": wire_number(invoice.exchange_rate)}
    return payload


@dataclass(frozen=True)
class InvoiceInfo:
    """What we keep from an Alegra invoice."""

    id: str
    serie: str
    folio: str
    uuid: str | None
    stamped_at: str | None
    total: Decimal | None
    emission_status: str | None
    status: str | None
    marker: str | None
    pdf_url: str | None
    xml_url: str | None


def _url(value):
    if isinstance(value, dict):
        value = value.get("url")
    return value or None


def invoice_from_alegra(body):
    """Map an invoice response, liberal in shapes (§6.3: uuid top-level or in stamp)."""
    body = body if isinstance(body, dict) else {}
    template = body.get("numberTemplate") or {}
    stamp = body.get("stamp") or {}
    observations = str(body.get("observations") or "")
    marker = None
    if MARKER_PREFIX in observations:
        marker = observations.split(MARKER_PREFIX, 1)[1].split()[0]
    uuid = body.get("uuid") or stamp.get("uuid")
    return InvoiceInfo(
        id=to_id(body.get("id")),
        serie=str(template.get("prefix") or ""),
        folio=str(template.get("number") or ""),
        uuid=str(uuid).upper() if uuid else None,
        stamped_at=stamp.get("stampDate") or stamp.get("date"),
        total=to_decimal(body.get("total")),
        emission_status=body.get("emissionStatus"),
        status=body.get("status"),
        marker=marker,
        pdf_url=_url(body.get("pdf")) or _url(body.get("pdfUrl")),
        xml_url=_url(body.get("xml")),
    )


STAMPED_STATUSES = {"STAMPED_AND_ACCEPTED", "STAMPED_AND_WAITING_RESPONSE"}
CANCEL_WAITING = "CANCELLED_AND_WAITING_RESPONSE"
CANCELLED = "STAMPED_AND_CANCELLED"
REJECTED = "STAMPED_AND_REJECTED"


def void_payload(motive, replacement_uuid=None):
    """POST /invoices/{id}/void body for Mexico — a guess (§6.7, open question 1)."""
    payload = {"motive": motive}
    if replacement_uuid:
        payload["replacementUuid"] = replacement_uuid
    return payload


def tax_key(body):
    """Key a /taxes or /retentions row by type and rate: ("IVA", "16"), ("IVA", "exento")."""
    kind = str(body.get("type") or "").upper()
    exempt = body.get("exempt") is True or "exento" in str(body.get("name", "")).lower()
    if exempt:
        return kind, "exento"
    percentage = to_decimal(body.get("percentage"), Decimal(0)).normalize()
    return kind, f"{percentage:f}"


def our_tax_key(kind, value):
    """The same key for a product's field: ("iva", "16") -> ("IVA", "16")."""
    return (TAX_TYPES.get(kind) or RETENTION_TYPES[kind]), (
        "exento" if value == "exento" else f"{Decimal(value).normalize():f}")
