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
# Régimen enum: exactly the 15 values MX-CAT lists (evidence §2). SAT codes 607, 608, 610, 614
# and 615 have no Alegra value and are refused before stamping (unsupported_regimen), never
# sent as a made-up enum. NO_REGIME ("Sin régimen") has no SAT code: read, never sent.
REGIMES = {
    "601": "GENERAL_REGIME_OF_MORAL_PEOPLE_LAW",           # MX-CAT "General de Ley Personas Morales"
    "603": "REGIME_OF_MORAL_PEOPLE_NOT_PROFIT",            # MX-CAT "Personas Morales con Fines no Lucrativos"
    "605": "SALARIED_REGIME",                              # MX-CAT "Sueldos y Salarios…"
    "606": "LEASEHOLD_REGIME",                             # MX-CAT "Arrendamiento"
    "611": "DIVIDEND_INCOME",                              # MX-CAT "Ingresos por Dividendos"
    "612": "BUSINESS_ACTIVITIES_REGIME",                   # MX-CAT "…Actividades Empresariales y Profesionales"
    "616": "SIMPLIFIED_REGIME",                            # MX-CAT "Sin obligaciones fiscales"
    "620": "REGIME_OF_COOPERATIVE_PRODUCTION_SOCIETIES",   # MX-CAT "Sociedades Cooperativas de Producción…"
    "621": "FISCAL_INCORPORATION_REGIME",                  # MX-CAT "Incorporación Fiscal"
    "622": "PRIMARY_SECTOR_REGIME",                        # MX-CAT "…Agrícolas, Ganaderas… (AGAPES)"
    "623": "SOCIETIES_OPTIONAL_REGIME",                    # MX-CAT "Opcional para Grupos de Sociedades"
    "624": "REGIME_OF_THE_COORDINATED",                    # MX-CAT "Coordinados"
    "625": "REGIME_OF_THE_TECHNOLOGICAL_PLATFORMS_INCOME_ACTIVITIES",  # MX-CAT "…Plataformas Tecnológicas"
    "626": "REGIME_OF_TRUST",                              # MX-CAT "Regimen simplificado de confianza (RESICO)"
}
NO_REGIME = "NO_REGIME"  # MX-CAT "Sin régimen": a contact may carry it; no SAT code
ALEGRA_REGIMES = frozenset(REGIMES.values()) | {NO_REGIME}
REGIME_CODES = {v: k for k, v in REGIMES.items()}

# FormaPago → Alegra paymentMethod slug: the 22 slugs CODE lists (evidence §2). No source
# shows a slug for 30 (aplicación de anticipos), so it is refused before stamping;
# "nominative" is listed by CODE without a SAT code and is therefore never sent.
PAYMENT_METHODS = {
    "01": "cash", "02": "check", "03": "transfer", "04": "credit-card", "05": "electronic-wallet",
    "06": "electronic-money", "08": "grocery-voucher", "12": "dation-payment",
    "13": "subrogation-payment", "14": "allocation-payment", "15": "forgiveness",
    "17": "compensation", "23": "novation", "24": "misunderstanding", "25": "debt-remission",
    "26": "prescription-or-expiration", "27": "creditor-satisfaction", "28": "debit-card",
    "29": "service-card", "31": "payment-intermediary", "99": "other",
}
PAYMENT_SLUGS = frozenset(PAYMENT_METHODS.values()) | {"nominative"}  # CODE, all 22
PAYMENT_CODES = {v: k for k, v in PAYMENT_METHODS.items()}

PARTNER_TYPES = {"cliente": ["client"], "proveedor": ["provider"], "ambos": ["client", "provider"]}
SERVICE_UNITS = {"E48", "ACT", "HUR", "DAY", "MON", "WEE", "ANN", "A9", "E51"}
MARKER_PREFIX = "apunto:"
# Tax and retention kinds as Alegra types them: ``type`` is a field of both (SCHEMA).
TAX_TYPES = {"iva": "IVA", "ieps": "IEPS"}
RETENTION_TYPES = {"ret_isr": "ISR", "ret_iva": "IVA"}


class Unsupported(Exception):
    """A SAT value Alegra has no counterpart for (the message is for the user)."""


def unsupported_regimen(code, who="el cliente"):
    """Spanish reason a SAT régimen cannot go to Alegra, or None when it can."""
    if code in REGIMES or code is None:
        return None
    from ..sat import catalogs as cat
    entry = cat.REGIMENES.get(code) or ""
    name = entry[0] if isinstance(entry, tuple) else entry
    return (f"Alegra no tiene el régimen fiscal {code} {name} en su catálogo (acepta "
            f"{', '.join(sorted(REGIMES))}), así que no se puede timbrar para {who} desde "
            f"Alegra. Revisa en la Constancia de Situación Fiscal si tiene otro régimen "
            f"vigente.").replace("  ", " ")


def unsupported_forma(code):
    """Spanish reason a forma de pago cannot go to Alegra, or None when it can."""
    if code in PAYMENT_METHODS or code is None:
        return None
    return (f"Alegra no ofrece la forma de pago {code} en su API; elige otra forma de pago "
            f"(para un anticipo aplicado, factura con la forma con que se pagó).")


def refusals(customer, forma_pago):
    """[(field, Spanish message)] for SAT values of an invoice Alegra cannot take."""
    found = []
    if customer is not None:
        reason = unsupported_regimen(customer.regimen)
        if reason:
            found.append(("customer", f"Cliente: {reason}"))
        reason = unsupported_forma(customer.forma_pago)
        if reason:
            found.append(("customer", f"Cliente (forma de pago habitual): {reason}"))
    reason = unsupported_forma(forma_pago)
    if reason:
        found.append(("forma_pago", reason))
    return found


def regime_enum(code, who="el cliente"):
    """The Alegra enum of a SAT régimen (MX-CAT), or Unsupported."""
    if code not in REGIMES:
        raise Unsupported(unsupported_regimen(code, who))
    return REGIMES[code]


def payment_slug(code):
    """The Alegra paymentMethod slug of a SAT forma de pago (CODE), or Unsupported."""
    if code not in PAYMENT_METHODS:
        raise Unsupported(unsupported_forma(code))
    return PAYMENT_METHODS[code]


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


def contact_payload(customer, term_id=None):
    """POST/PUT /contacts body for a customer; term_id is the /terms row for its credit days."""
    foreign = customer.rfc == "XEXX010101000"
    address = {"street": customer.street or "", "exteriorNumber": customer.exterior or "",
               "interiorNumber": customer.interior or "", "colony": customer.colonia or "",
               "municipality": customer.municipio or "", "state": customer.estado or "",
               "zipCode": customer.cp, "country": "MEX"}
    regime = regime_enum(customer.regimen)
    payload = {
        "name": customer.name,
        "identification": customer.rfc,                    # evidence §1 (CODE, live account)
        "thirdType": "FOREIGN" if foreign else "NATIONAL",  # MX-CAT "Tipos de terceros"
        # Real integrations send both; "taxRegime" is silently ignored (alegra-api §10.2).
        "regime": regime,                                  # MX-CAT "Regímenes" (15 values)
        "regimeObject": [regime],
        "cfdiUse": customer.uso_cfdi,                      # MX-CAT "CFDIUse"
        "paymentType": customer.metodo_pago,               # CODE: PUE/PPD
        "paymentMethod": payment_slug(customer.forma_pago),  # CODE: 22 slugs
        "address": address,
        "type": PARTNER_TYPES.get(customer.partner_type, ["client"]),
    }
    if term_id:
        # /terms rows are {id, name, days} and PYPI sends "term": <id> (evidence §2).
        payload["term"] = term_id
    if customer.email:
        payload["email"] = customer.email
    return payload


def item_reference_of(product):
    """The reference that identifies the app's item: the SKU, or apunto-<id>."""
    return product.sku or f"apunto-{product.id}"


def item_payload(product, tax_ids):
    """POST/PUT /items body for a product; tax_ids are Alegra ids of its traslados."""
    return {
        "name": product.name,
        "reference": item_reference_of(product),        # SCHEMA items.reference
        "price": [{"idPriceList": 1, "price": wire_number(product.unit_price)}],
        "tax": [{"id": t} for t in tax_ids],             # SCHEMA items.tax
        "type": "service" if product.clave_unidad in SERVICE_UNITS else "product",
        "productKey": product.clave_prod_serv,           # MX-CAT product keys (CLI catalog)
        # MX-CAT's units are SAT ClaveUnidad codes, but no source names the item field
        # (evidence §3): both readings are sent, inventory.unit and a top-level unit.
        "unit": product.clave_unidad,
        "inventory": {"unit": product.clave_unidad},
    }


def invoice_payload(invoice, contact_id, lines, retentions, template_id, marker, due_date):
    """POST /invoices body that creates and stamps in one call (evidence §1).

    ``lines`` is [(line, item_id, tax_ids)], ``retentions`` is [(retention_id, amount)].
    The attempt marker goes in ``observations`` (internal, not printed) so a timed-out
    attempt can be found by reading; the user's note goes in ``anotation`` (printed).
    """
    payload = {
        "date": invoice.date.isoformat(),
        "dueDate": due_date.isoformat(),
        "client": {"id": contact_id},
        "status": "open",
        "paymentType": invoice.metodo_pago,                   # CODE, CLI: PUE | PPD
        "paymentMethod": payment_slug(invoice.forma_pago),    # CODE: one of 22 slugs
        "cfdiUse": invoice.uso_cfdi,                          # CODE, CLI
        "numberTemplate": {"id": template_id},                # SCHEMA invoices.numberTemplate
        "observations": f"{MARKER_PREFIX}{marker}",           # alegra-api §6.2 (internal)
        "items": [{
            "id": item_id,
            "price": wire_number(line.unit_price),
            "quantity": wire_number(line.quantity),
            "discount": wire_number(line.discount_pct or 0),
            "description": line.description,
            "productKey": line.clave_prod_serv,
            "tax": [{"id": t} for t in tax_ids],
        } for line, item_id, tax_ids in lines],
        "stamp": {"generateStamp": True},                     # evidence §1 (CODE, CLI)
    }
    if retentions:
        payload["retentions"] = [{"id": rid, "amount": wire_number(amount)}
                                 for rid, amount in retentions]
    if invoice.observations:
        payload["anotation"] = invoice.observations
    if invoice.currency != "MXN":
        payload["currency"] = {"code": invoice.currency,
                               "exchangeRate": wire_number(invoice.exchange_rate)}
    periodicity = getattr(invoice, "global_periodicidad", None)
    if periodicity:
        # InformacionGlobal: invoice fields periodicity/months/year with the SAT codes
        # (evidence §4: MX-CAT "Periocidad", "Meses"; alegra-api §6.2).
        payload.update(periodicity=periodicity, months=invoice.global_meses,
                       year=int(invoice.global_anio))
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
    has_observations: bool = True

    @property
    def state(self):
        """The emission state as one of STATES (see emission_state)."""
        return emission_state(self.emission_status, self.status)


def _url(value):
    if isinstance(value, dict):
        value = value.get("url")
    return value or None


def _object(value):
    """numberTemplate and stamp are ``array|object`` in SCHEMA (CLI decodes both): one dict."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    return value if isinstance(value, dict) else {}


def invoice_from_alegra(body):
    """Map an invoice response, liberal in shapes; never raises on a missing field."""
    body = body if isinstance(body, dict) else {}
    template = _object(body.get("numberTemplate"))
    stamp = _object(body.get("stamp"))
    observations = str(body.get("observations") or "")
    marker = None
    if MARKER_PREFIX in observations:
        rest = observations.split(MARKER_PREFIX, 1)[1].split()
        marker = rest[0] if rest else None
    uuid = body.get("uuid") or stamp.get("uuid")
    number = template.get("number")
    if number in (None, "") and template.get("fullNumber"):
        number = str(template["fullNumber"])[len(str(template.get("prefix") or "")):]
    return InvoiceInfo(
        id=to_id(body.get("id")),
        serie=str(template.get("prefix") or ""),
        folio=str(number if number is not None else ""),
        uuid=str(uuid).upper() if uuid else None,
        stamped_at=stamp.get("stampDate") or stamp.get("date"),
        total=to_decimal(body.get("total")),
        emission_status=str(body["emissionStatus"]) if body.get("emissionStatus") else None,
        status=str(body["status"]) if body.get("status") else None,
        marker=marker,
        pdf_url=_url(body.get("pdf")) or _url(body.get("pdfUrl")),
        xml_url=_url(body.get("xml")),
        has_observations="observations" in body,
    )


# Emission statuses: MX-CAT lists exactly these four (evidence §2).
PENDING = "PENDING"
STAMPED_AND_ACCEPTED = "STAMPED_AND_ACCEPTED"
REJECTED = "STAMPED_AND_REJECTED"
CANCELLED = "STAMPED_AND_CANCELLED"
# Seen in alegra-api §6.7 (A-MCP) but not in MX-CAT: still understood when read.
CANCEL_WAITING = "CANCELLED_AND_WAITING_RESPONSE"
STAMPED_STATUSES = {STAMPED_AND_ACCEPTED, "STAMPED_AND_WAITING_RESPONSE"}

# What the app makes of an (emissionStatus, status) pair.
S_PENDING, S_STAMPED, S_REJECTED = "pending", "stamped", "rejected"
S_CANCEL_PROCESS, S_CANCELLED, S_UNKNOWN = "cancel_in_process", "cancelled", "unknown"


def emission_state(emission_status, status=None):
    """Classify an invoice read from Alegra.

    A cancellation in progress may read CANCELLED_AND_WAITING_RESPONSE, or still
    STAMPED_AND_ACCEPTED with ``status`` "void" (evidence §2): both are "in process",
    never a refused cancellation. ACCEPTED with a non-void status is a stamped invoice.
    """
    if emission_status == CANCELLED:
        return S_CANCELLED
    if emission_status == CANCEL_WAITING:
        return S_CANCEL_PROCESS
    if emission_status in STAMPED_STATUSES:
        return S_CANCEL_PROCESS if status == "void" else S_STAMPED
    if emission_status == REJECTED:
        return S_REJECTED
    if emission_status == PENDING:
        return S_PENDING
    return S_UNKNOWN


def void_payload(motive, replacement_uuid=None):
    """POST /invoices/{id}/void body: public code sends ``reason`` or ``cause`` (evidence §3).

    Both carry the SAT motive, so either reading of the body gets it; how the replacement
    UUID travels is shown nowhere: ``replacementUuid`` is our guess (alegra-api §6.7).
    """
    payload = {"reason": motive, "cause": motive}
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
