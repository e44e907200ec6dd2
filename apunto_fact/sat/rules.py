"""CFDI 4.0 rules checked before anything reaches Alegra (cfdi40-rules.md §1–§9).

Every rule lives here once; forms, CSV import and the pre-stamp check all call these
functions. Errors (E) block; warnings (W) inform. Messages are Spanish and name the SAT
rejection code the rule avoids.
"""
import datetime
import re
from decimal import Decimal
from decimal import InvalidOperation
from dataclasses import dataclass
from dataclasses import field

from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError
from stdnum.mx import rfc as stdnum_rfc

from . import catalogs as cat
from .search import CODIGOS_POSTALES
from .search import PRODUCTOS
from .search import UNIDADES
from .search import fold

# Below U+0020 and U+007F: not allowed in XML 1.0 (NUL, VT, ESC...) or invisible and
# meaningless in a CFDI. Tab and newline only where a field holds several lines.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
CONTROL_CHARACTERS_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")


def control_characters(text, multiline=False):
    """Spanish message when text holds a control character (None when it is clean)."""
    if not isinstance(text, str):
        return None
    pattern = CONTROL_CHARACTERS if multiline else CONTROL_CHARACTERS_ONE_LINE
    found = pattern.search(text)
    if found is None:
        return None
    code = f"U+{ord(found.group(0)):04X}"
    return (f"El texto tiene un carácter de control invisible ({code}), quizá pegado de otro "
            f"programa; bórralo y escríbelo de nuevo.")


def check_text(data, findings, multiline=("observations",)):
    """Record a control-character error for every text value of data (one rule, every form)."""
    for name, value in data.items():
        message = control_characters(value, multiline=name in multiline)
        if message:
            findings.error(name, message)


# XSD t_RFC (uppercase only) — §2.1
RFC_PATTERN = re.compile(
    r"[A-Z&Ñ]{3,4}[0-9]{2}(0[1-9]|1[012])(0[1-9]|[12][0-9]|3[01])[A-Z0-9]{2}[0-9A]")
CP_PATTERN = re.compile(r"[0-9]{5}")

# §3.1, longest first; matched on whole tokens after removing "." and ",".
CAPITAL_SUFFIXES = sorted({
    "SA DE CV", "SA", "SAB DE CV", "SAB", "SAPI DE CV", "SAPI", "SAPIB", "SAPIB DE CV",
    "SAS DE CV", "SAS", "S DE RL DE CV", "S DE RL", "S DE RL MI", "SC DE CV", "SC", "AC",
    "S DE CV", "S EN C", "S EN C DE CV", "S EN C POR A", "S EN C POR A DE CV", "S EN NC",
    "S EN NC DE CV", "SC DE RL", "SC DE RL DE CV", "SCL", "SPR DE RL", "SPR DE RI",
    "SPR DE RL DE CV", "IAP", "IBP", "ABP", "AR", "SNC", "SOFOM ENR", "SOFOM ER", "SOFIPO",
    "SOCAP", "S DE SS", "SA DE CV SOFOM ENR", "SA DE CV SOFOM ER",
    "SOCIEDAD ANONIMA DE CAPITAL VARIABLE",
    "SOCIEDAD DE RESPONSABILIDAD LIMITADA DE CAPITAL VARIABLE",
    "SOCIEDAD DE RESPONSABILIDAD LIMITADA", "SOCIEDAD CIVIL", "ASOCIACION CIVIL",
    "SOCIEDAD ANONIMA", "SOCIEDAD ANONIMA PROMOTORA DE INVERSION DE CAPITAL VARIABLE",
    "SOCIEDAD POR ACCIONES SIMPLIFICADA DE CAPITAL VARIABLE",
    "SOCIEDAD POR ACCIONES SIMPLIFICADA",
}, key=lambda s: -len(s.split()))


@dataclass
class RfcCheck:
    """The outcome of checking one RFC."""

    rfc: str
    persona: str | None = None
    generic: bool = False
    error: str | None = None
    warning: str | None = None


@dataclass
class Findings:
    """Errors and warnings by field name."""

    errors: dict = field(default_factory=dict)
    warnings: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)  # what parsed (amounts as Decimal)

    def error(self, name, message):
        """Record the first error of a field."""
        self.errors.setdefault(name, message)

    def warn(self, name, message):
        """Record the first warning of a field."""
        self.warnings.setdefault(name, message)


def normalize_rfc(value):
    """Trim and uppercase an RFC as typed."""
    return (value or "").strip().upper()


def check_rfc(value):
    """Check an RFC per §2.5; the persona type comes from its length."""
    rfc = normalize_rfc(value)
    result = RfcCheck(rfc)
    if not rfc:
        result.error = "Escribe el RFC."
    elif rfc in cat.GENERIC_RFCS:
        result.persona, result.generic = cat.FISICA, True
    elif re.search(r"[\s\-_.]", rfc):
        result.error = "El RFC va sin espacios, guiones ni puntos (por ejemplo EKU9003173C9)."
    elif len(rfc) not in (12, 13):
        result.error = (f"El RFC debe tener 12 caracteres (persona moral) o 13 (persona "
                        f"física); tiene {len(rfc)}.")
    elif not RFC_PATTERN.fullmatch(rfc):
        result.error = ("El RFC no tiene la forma que pide el SAT: letras, fecha AAMMDD, "
                        "homoclave de 2 caracteres y dígito verificador.")
    elif not _rfc_date_exists(rfc):
        result.error = f"La fecha del RFC ({rfc[-9:-3]}, AAMMDD) no existe en el calendario."
    else:
        result.persona = cat.MORAL if len(rfc) == 12 else cat.FISICA
        _stdnum_checks(rfc, result)
    return result


def _rfc_date_exists(rfc):
    digits = rfc[-9:-3]
    yy, mm, dd = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    for century in (1900, 2000):
        try:
            datetime.date(century + yy, mm, dd)
            return True
        except ValueError:
            continue
    return False


def _stdnum_checks(rfc, result):
    try:
        stdnum_rfc.validate(rfc)
    except ValidationError:
        # The date was checked above, so stdnum objects to a forbidden word (SAT's list).
        result.error = "El RFC contiene una palabra que el SAT no asigna; revisa las letras."
        return
    try:
        stdnum_rfc.validate(rfc, validate_check_digits=True)
    except (InvalidChecksum, ValidationError):
        # About 1.5 % of real RFCs fail this check (python-stdnum): warn, never block.
        result.warning = ("El dígito verificador no coincide. Si copiaste el RFC de la "
                          "Constancia de Situación Fiscal puedes continuar; si no, revísalo.")


def _tokens(name):
    return [re.sub(r"[.,]", "", fold(t)).upper() for t in (name or "").split()]


def capital_suffix(name):
    """Return the régimen-capital suffix as the user typed it, or None (§3.1)."""
    original = (name or "").split()
    tokens = _tokens(name)
    for start in range(1, len(tokens)):
        tail = " ".join(t for t in tokens[start:] if t)
        joined = tail.replace(" ", "")
        if any(joined == s.replace(" ", "") for s in CAPITAL_SUFFIXES):
            return " ".join(original[start:])
    return None


def without_capital_suffix(name):
    """Return name without its régimen-capital suffix (only when the user asks)."""
    suffix = capital_suffix(name)
    if not suffix:
        return name.strip()
    return name.strip()[: -len(suffix)].rstrip(" ,")


def check_name(name, rfc, findings, field_name="name"):
    """Rules 4, 11 and 25 for a Nombre / razón social."""
    name = (name or "").strip()
    if not name:
        findings.error(field_name, "Escribe la razón social o el nombre como aparece en la "
                                   "Constancia de Situación Fiscal.")
        return
    if len(name) > 300:
        findings.error(field_name, "El nombre no puede pasar de 300 caracteres.")
    elif "|" in name:
        findings.error(field_name, "El nombre no puede llevar el carácter «|».")
    is_publico = " ".join(_tokens(name)) == cat.PUBLICO_EN_GENERAL
    if is_publico and rfc != cat.GENERIC_NATIONAL:
        findings.error(field_name, "«PUBLICO EN GENERAL» solo se usa con el RFC "
                                   "XAXX010101000 (CFDI40146).")
    suffix = capital_suffix(name)
    if suffix:
        findings.warn(field_name, f"En CFDI 4.0 la razón social va sin el régimen de capital "
                                  f"«{suffix}»; con él, el SAT rechaza la factura (CFDI40145).")


def check_postal_code(cp, findings, field_name, code="CFDI40147"):
    """CP: 5 digits and present in c_CodigoPostal (rules 6 and 24)."""
    cp = (cp or "").strip()
    if not CP_PATTERN.fullmatch(cp):
        findings.error(field_name, "El código postal debe tener exactamente 5 dígitos.")
    elif CODIGOS_POSTALES.get(cp) is None:
        findings.error(field_name, f"El código postal {cp} no existe en el catálogo del SAT "
                                   f"({code}); cópialo de la Constancia de Situación Fiscal.")


def _persona_name(persona):
    return "física" if persona == cat.FISICA else "moral"


def check_regimen(regimen, persona, findings, code="CFDI40158"):
    """Régimen in the 4.0 catalog and valid for the persona type (40157; 40158/40141)."""
    if regimen not in cat.REGIMENES:
        findings.error("regimen", "Elige un régimen fiscal del catálogo del SAT (CFDI40157).")
    elif persona and regimen not in cat.regimenes_for(persona):
        findings.error("regimen", f"El régimen {regimen} no corresponde a una persona "
                                  f"{_persona_name(persona)} ({code}).")


def check_customer(data, company_cp=None):
    """Check a customer's fiscal data (rules 1, 2, 4, 6–13, 25); return Findings."""
    findings = Findings()
    check_text(data, findings)
    rfc = check_rfc(data.get("rfc"))
    if rfc.error:
        findings.error("rfc", rfc.error)
    if rfc.warning:
        findings.warn("rfc", rfc.warning)
    check_name(data.get("name"), rfc.rfc, findings)
    regimen, uso = data.get("regimen"), data.get("uso_cfdi")
    if rfc.generic and regimen != "616":
        findings.error("regimen", "Con un RFC genérico el régimen debe ser 616 Sin "
                                  "obligaciones fiscales (CFDI40159).")
    check_regimen(regimen, rfc.persona, findings)
    _check_uso(uso, regimen, rfc, findings)
    check_postal_code(data.get("cp"), findings, "cp")
    if rfc.generic and company_cp and data.get("cp") != company_cp:
        findings.error("cp", f"Con un RFC genérico el código postal debe ser el de tu "
                             f"empresa, {company_cp} (CFDI40149).")
    check_payment(data.get("metodo_pago"), data.get("forma_pago"), findings)
    return findings


def is_publico_en_general(rfc, name):
    """XAXX010101000 with the name PUBLICO EN GENERAL: a factura global (cfdi40-rules §2.2)."""
    return normalize_rfc(rfc) == cat.GENERIC_NATIONAL and \
        " ".join(_tokens(name)) == cat.PUBLICO_EN_GENERAL


def check_global_info(data, customer, company_cp, today, emisor_regimen=None):
    """InformacionGlobal and the rules of a factura global (40130–40136, GLOBAL pp. 12–17).

    ``data`` holds periodicidad, meses and anio as typed; ``customer`` has rfc, name,
    regimen, cp; the uso comes in data["uso_cfdi"].
    """
    findings = Findings()
    periodicidad = (data.get("periodicidad") or "").strip()
    meses = (data.get("meses") or "").strip()
    anio = data.get("anio")
    if customer is None or not is_publico_en_general(customer.rfc, customer.name):
        if periodicidad or meses or anio:
            findings.error("global_periodicidad", "Periodicidad, meses y año solo se indican en "
                                                  "una factura global a PUBLICO EN GENERAL "
                                                  "(RFC XAXX010101000).")
        return findings
    if customer.regimen != "616":
        findings.error("customer", "En la factura global el régimen del cliente debe ser 616 "
                                   "Sin obligaciones fiscales (CFDI40159).")
    if data.get("uso_cfdi") != "S01":
        findings.error("uso_cfdi", "En la factura global el uso del CFDI debe ser S01 Sin "
                                   "efectos fiscales.")
    if company_cp and customer.cp != company_cp:
        findings.error("customer", f"En la factura global el código postal del cliente debe "
                                   f"ser el de tu empresa, {company_cp} (CFDI40149).")
    if periodicidad not in cat.PERIODICIDADES:
        findings.error("global_periodicidad", "Elige la periodicidad de la factura global "
                                              "(diaria, semanal, quincenal, mensual o "
                                              "bimestral) (CFDI40130).")
    elif periodicidad == "05" and emisor_regimen and emisor_regimen != "621":
        findings.error("global_periodicidad", "La periodicidad bimestral solo aplica si tu "
                                              "empresa tributa en el régimen 621 (CFDI40132).")
    if meses not in cat.MESES:
        findings.error("global_meses", "Elige el mes (o bimestre) que cubre la factura global "
                                       "(CFDI40133).")
    elif periodicidad in cat.PERIODICIDADES and (periodicidad == "05") != (meses > "12"):
        findings.error("global_meses", "Con periodicidad bimestral elige un bimestre "
                                       "(Enero-Febrero…); con otra, un mes (CFDI40134).")
    try:
        year = int(str(anio).strip())
    except (TypeError, ValueError):
        year = None
    if year is None:
        findings.error("global_anio", "Escribe el año que cubre la factura global (CFDI40136).")
    elif not today.year - 1 <= year <= today.year:
        findings.error("global_anio", f"El año de la factura global debe ser {today.year} o "
                                      f"{today.year - 1} (CFDI40136).")
    elif meses in cat.MESES and year == today.year and _first_month(meses) > today.month:
        findings.error("global_meses", "La factura global no puede cubrir un periodo futuro.")
    return findings


def _first_month(meses):
    return int(meses) if meses <= "12" else (int(meses) - 12) * 2 - 1


def _check_uso(uso, regimen, rfc, findings):
    if uso not in cat.USOS_CFDI:
        findings.error("uso_cfdi", "Elige un uso de CFDI del catálogo del SAT (CFDI40160).")
    elif rfc.rfc == cat.GENERIC_FOREIGN and uso != "S01":
        findings.error("uso_cfdi", "Con el RFC genérico extranjero el uso debe ser S01.")
    else:
        allowed = cat.usos_for(regimen if regimen in cat.REGIMENES else None, rfc.persona)
        if uso not in allowed:
            findings.error("uso_cfdi", f"El uso {uso} no se permite con el régimen {regimen} "
                                       f"de una persona {_persona_name(rfc.persona)} "
                                       f"(CFDI40161). Permitidos: {', '.join(allowed)}.")


def check_payment(metodo, forma, findings):
    """PPD ⇒ forma 99 (40105); PUE ⇒ a real forma, not 99 (business rule, §6.3)."""
    if metodo not in cat.METODOS_PAGO:
        findings.error("metodo_pago", "Elige cómo se paga: en una sola exhibición (PUE) o en "
                                      "parcialidades o diferido (PPD).")
    if forma not in cat.FORMAS_PAGO:
        findings.error("forma_pago", "Elige una forma de pago del catálogo del SAT (CFDI40104).")
    elif metodo == "PPD" and forma != "99":
        findings.error("forma_pago", "Con PPD (pago en parcialidades o diferido) la forma de "
                                     "pago debe ser 99 Por definir (CFDI40105).")
    elif metodo == "PUE" and forma == "99":
        findings.error("forma_pago", "Con PUE el pago ya se recibió: elige cómo se pagó "
                                     "(efectivo, transferencia…), no 99 Por definir.")


def allowed_formas(metodo):
    """Formas de pago a método allows: only 99 for PPD, all but 99 for PUE."""
    if metodo == "PPD":
        return ["99"]
    return [f for f in cat.FORMAS_PAGO if f != "99" or metodo not in cat.METODOS_PAGO]


def check_company(data):
    """Check the emisor's fiscal data (rules 1, 5, 9, 24); return Findings."""
    findings = Findings()
    check_text(data, findings)
    rfc = check_rfc(data.get("rfc"))
    if rfc.generic:
        findings.error("rfc", "Tu empresa no puede usar un RFC genérico.")
    elif rfc.error:
        findings.error("rfc", rfc.error)
    if rfc.warning:
        findings.warn("rfc", rfc.warning)
    check_name(data.get("name"), rfc.rfc, findings)
    check_regimen(data.get("regimen"), rfc.persona, findings, code="CFDI40141")
    # The company's CP is the LugarExpedicion of every invoice.
    check_postal_code(data.get("cp"), findings, "cp", code="CFDI40126")
    return findings


MAX_CONCEPT_DECIMALS = 6


# NUMERIC(18,6) stores amounts below 10^12. Taxes on top of the subtotal (IVA 16 % plus IEPS
# up to 160 %) stay below 3x, so a subtotal under 10^11 keeps every total storable.
MAX_INVOICE_SUBTOTAL = Decimal(10) ** 11
TOTAL_TOO_LARGE = ("El importe total de la factura es demasiado grande (máximo "
                   "99,999,999,999.99 antes de impuestos). Revisa cantidades y precios.")


def parse_amount(raw, findings, field_name, *, positive=True, decimals=MAX_CONCEPT_DECIMALS,
                 what="El precio"):
    """Parse a money amount typed by a person ("1,250.50", " 10 ") into Decimal or None."""
    text = (str(raw) if raw is not None else "").strip().replace(",", "").replace("$", "")
    try:
        value = Decimal(text)
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        findings.error(field_name, f"{what} debe ser un número, por ejemplo 1250.50.")
        return None
    if value < 0:
        findings.error(field_name, f"{what} no admite valores negativos.")
    elif positive and value == 0:
        findings.error(field_name, f"{what} debe ser mayor que cero (CFDI40166).")
    elif -value.as_tuple().exponent > decimals:
        findings.error(field_name, f"{what} admite como máximo {decimals} decimales.")
    elif value >= Decimal(10) ** 12:
        findings.error(field_name, f"{what} excede el máximo permitido.")
    return value


def check_product(data):
    """Check a product (rules 19, 21, 22, 23, 25 and Alegra's name length); return Findings."""
    findings = Findings()
    check_text(data, findings)
    name = (data.get("name") or "").strip()
    if not 2 <= len(name) <= 50:
        # Alegra limits the item name that becomes the concepto's description.
        findings.error("name", "El nombre debe tener entre 2 y 50 caracteres (límite de Alegra).")
    elif "|" in name:
        findings.error("name", "El nombre no puede llevar el carácter «|».")
    if PRODUCTOS.get(data.get("clave_prod_serv")) is None:
        findings.error("clave_prod_serv", "Elige una clave de producto o servicio del catálogo "
                                          "del SAT (CFDI40162).")
    if UNIDADES.get(data.get("clave_unidad")) is None:
        findings.error("clave_unidad", "Elige una clave de unidad del catálogo del SAT "
                                       "(CFDI40165).")
    parse_amount(data.get("unit_price"), findings, "unit_price")
    _check_product_taxes(data, findings)
    return findings


def _check_product_taxes(data, findings):
    objeto = data.get("objeto_imp")
    iva, ieps = data.get("iva") or "", data.get("ieps") or ""
    ret_isr, ret_iva = data.get("ret_isr") or "", data.get("ret_iva") or ""
    for name, value, options in (("iva", iva, cat.IVA_OPTIONS), ("ieps", ieps, cat.IEPS_OPTIONS),
                                 ("ret_isr", ret_isr, cat.RET_ISR_OPTIONS),
                                 ("ret_iva", ret_iva, cat.RET_IVA_OPTIONS)):
        if value and value not in options:
            findings.error(name, "Elige una tasa del catálogo c_TasaOCuota del SAT (CFDI40179).")
    any_tax = any((iva, ieps, ret_isr, ret_iva))
    if objeto not in cat.OBJETOS_IMP:
        findings.error("objeto_imp", "Elige el objeto de impuesto (CFDI40170).")
    elif objeto == "02" and not any_tax:
        findings.error("objeto_imp", "Con objeto de impuesto 02 el concepto debe llevar al menos "
                                     "un impuesto: elige el IVA (CFDI40171).")
    elif objeto in ("01", "03", "04", "05") and any_tax:
        findings.error("objeto_imp", f"Con objeto de impuesto {objeto} el concepto no lleva "
                                     f"impuestos: quita el IVA, IEPS y retenciones o usa 02 "
                                     f"(CFDI40172).")
    elif objeto in ("06", "07", "08") and (iva or ret_iva):
        findings.error("objeto_imp", f"Con objeto de impuesto {objeto} no se traslada ni se "
                                     f"retiene IVA (CFDI140226).")
    elif objeto in ("06", "08") and ieps:
        findings.error("objeto_imp", f"Con objeto de impuesto {objeto} no se desglosa IEPS "
                                     f"(CFDI140226).")
    elif objeto == "07" and not ieps:
        findings.error("ieps", "Con objeto de impuesto 07 el concepto debe llevar IEPS "
                               "(CFDI140227).")
    if ret_isr == "1.25":
        findings.warn("ret_isr", "La retención de ISR 1.25 % solo aplica si tributas en RESICO "
                                 "(626) como persona física y facturas a una persona moral "
                                 "(CFDI140224/140225).")


# The PAC certifies a CFDI only if its Fecha is at most 72 h before the certification and not
# after it (cfdi40-rules §9, [3P: 72H]). Alegra writes the invoice's date with the time of
# emission as the Fecha, so a date N days back is N×24 h old when stamped: 3 days is too late.
FECHA_MAX_AGE = datetime.timedelta(hours=72)


def cfdi_fecha(issued, now):
    """The CFDI Fecha of an invoice dated issued and emitted at now: the date, now's time."""
    return datetime.datetime.combine(issued, now.time(), now.tzinfo)


def fecha_too_old(fecha, now):
    """Would the PAC refuse, at now, a CFDI whose Fecha is fecha (72 h to the second is late)?"""
    return now - fecha >= FECHA_MAX_AGE


def check_invoice_header(data, customer, today):
    """Invoice-level rules: date (24), currency/rate (16), uso (10), payment (12, 13)."""
    findings = Findings()
    check_text({"observations": data.get("observations")}, findings)
    issued = data.get("date")
    if issued is None:
        findings.error("date", "Escribe la fecha de la factura.")
    elif issued > today:
        findings.error("date", "La fecha no puede ser futura.")
    elif today - issued >= FECHA_MAX_AGE:
        findings.error("date", "El SAT solo timbra facturas con fecha de hasta 72 horas atrás "
                               "(CFDI40101): con la hora de timbrado, esta fecha ya las pasó. "
                               f"La más antigua posible hoy es el "
                               f"{(today - FECHA_MAX_AGE + datetime.timedelta(days=1)):%d/%m/%Y}.")
    elif today - issued >= FECHA_MAX_AGE - datetime.timedelta(days=1):
        findings.warn("date", "Con esta fecha quedan menos de 24 horas para timbrar (el SAT "
                              "acepta hasta 72 horas atrás, CFDI40101): timbra hoy.")
    currency = data.get("currency") or "MXN"
    if currency == "MXN":
        pass
    elif currency_decimals_known(currency):
        rate = data.get("exchange_rate")
        if rate in (None, ""):
            findings.error("exchange_rate", f"Para facturar en {currency} escribe el tipo de "
                                            f"cambio en pesos (CFDI40115).")
        else:
            findings.values["exchange_rate"] = parse_amount(
                rate, findings, "exchange_rate", what="El tipo de cambio")
    else:
        findings.error("currency", "Elige una moneda del catálogo del SAT (CFDI40113).")
    check_payment(data.get("metodo_pago"), data.get("forma_pago"), findings)
    if customer is not None:
        rfc = check_rfc(customer.rfc)
        allowed = cat.usos_for(customer.regimen, rfc.persona)
        uso = data.get("uso_cfdi")
        if uso not in cat.USOS_CFDI:
            findings.error("uso_cfdi", "Elige un uso de CFDI (CFDI40160).")
        elif uso not in allowed:
            findings.error("uso_cfdi", f"El uso {uso} no se permite con el régimen "
                                       f"{customer.regimen} del cliente (CFDI40161). "
                                       f"Permitidos: {', '.join(allowed)}.")
    return findings


def currency_decimals_known(code):
    """True for a c_Moneda code (lazy import keeps the big catalogs off the hot path)."""
    from .search import currency_decimals
    return currency_decimals(code) is not None


def check_line(data):
    """One concepto: quantity (> 0, ≤ 6 decimals), price (40166), discount, taxes (21, 22)."""
    findings = Findings()
    description = (data.get("description") or "").strip()
    if not description:
        findings.error("description", "Escribe la descripción del concepto.")
    elif len(description) > 1000 or "|" in description:
        findings.error("description", "Hasta 1000 caracteres y sin «|».")
    elif control_characters(description):
        findings.error("description", control_characters(description))
    values = findings.values
    values["quantity"] = parse_amount(data.get("quantity"), findings, "quantity",
                                      what="La cantidad")
    values["unit_price"] = parse_amount(data.get("unit_price"), findings, "unit_price")
    discount = parse_amount(data.get("discount_pct") or "0", findings, "discount_pct",
                            positive=False, decimals=2, what="El descuento")
    values["discount_pct"] = discount
    if discount is not None and discount > 100:
        findings.error("discount_pct", "El descuento es un porcentaje de 0 a 100.")
    if PRODUCTOS.get(data.get("clave_prod_serv")) is None:
        findings.error("clave_prod_serv", "Clave de producto fuera del catálogo (CFDI40162).")
    _check_product_taxes(data, findings)
    return findings


# -- Pagos 2.0: what the SAT refuses in a payment complement (pagos20.md §1–§2) -------------
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)  # clocks of the PC and the PAC differ


@dataclass
class PaymentApplication:
    """One invoice a payment is applied to, as the rules see it."""

    field: str                    # the form field where a refusal is shown
    label: str                    # e.g. "A101"
    metodo_pago: str
    cancelled: bool
    stamped: bool
    issued: datetime.date
    balance: Decimal              # what is still owed, in the invoice's currency
    amount: Decimal | None        # what this payment applies to it
    currency: str = "MXN"
    exchange_rate: Decimal | None = None  # MXN per unit of the invoice's currency, if not MXN


def check_rep_payment(data, applications, now):
    """Refuse what the SAT (or the law) would refuse in a REP; return Findings by field.

    ``data``: paid_at (naive local datetime), forma_pago, currency, exchange_rate (Decimal
    or None), amount (Decimal or None). ``now``: the local time of the check.
    """
    findings = Findings()
    forma = data.get("forma_pago")
    if forma == "99":
        findings.error("forma_pago", "En un complemento de pago la forma no puede ser 99 «Por "
                                     "definir»: indica cómo te pagaron (SAT CRP20212).")
    elif forma not in cat.FORMAS_PAGO:
        findings.error("forma_pago", "Elige la forma de pago.")
    currency = data.get("currency") or "MXN"
    rate = data.get("exchange_rate")
    if currency != "MXN" and (rate is None or rate <= 0):
        findings.error("exchange_rate", f"Un pago en {currency} necesita el tipo de cambio del "
                                        f"día del pago, en pesos por {currency} (SAT CRP20214).")
    amount = data.get("amount")
    if amount is None or amount <= 0:
        findings.error("amount", "El monto del pago debe ser mayor que cero (SAT CRP20218).")
    paid_at = data.get("paid_at")
    if paid_at is None:
        findings.error("paid_at", "Indica la fecha y hora en que recibiste el pago.")
    elif paid_at > now + FUTURE_TOLERANCE:
        findings.error("paid_at", "La fecha del pago no puede ser futura: el complemento se "
                                  "emite cuando el dinero ya llegó, no por una promesa de pago.")
    if not applications:
        findings.error("amount", "Aplica el pago a por lo menos una factura PPD.")
    check_rep_bank_accounts(forma, data.get("cta_ordenante"), data.get("cta_beneficiario"),
                            findings)
    for app in applications:
        _check_application(app, paid_at, currency, findings)
    applied = [a.amount for a in applications if a.amount]
    if amount and amount > 0 and applications and all(
            a.currency == currency for a in applications) and sum(applied, Decimal(0)) > amount:
        findings.error("amount", "La suma aplicada a las facturas es mayor que el monto del "
                                 "pago (SAT CRP20217).")
    return findings


# Bank account patterns by forma de pago (pagos20.md §2.2, c_FormaPago); None = not allowed.
_BEN_02 = r"[0-9]{10,11}|[0-9]{15,16}|[0-9]{18}|[A-Z0-9_]{10,50}"
BANK_ACCOUNT_PATTERNS = {
    "02": (r"[0-9]{11}|[0-9]{18}", _BEN_02),
    "03": (r"[0-9]{10}|[0-9]{16}|[0-9]{18}", r"[0-9]{10}|[0-9]{18}"),
    "04": (r"[0-9]{16}", _BEN_02), "28": (r"[0-9]{16}", _BEN_02),
    "29": (r"[0-9]{15,16}", _BEN_02),
    "05": (_BEN_02, _BEN_02),
    "06": (r"[0-9]{10}", None),
}


def check_rep_bank_accounts(forma, ordenante, beneficiario, findings):
    """The payer's and the receiving account, as the SAT allows them per forma (CRP20221–28)."""
    patterns = BANK_ACCOUNT_PATTERNS.get(forma)
    for field_name, value, index, code, who in (
            ("cta_ordenante", ordenante, 0, "CRP20223", "del cliente (ordenante)"),
            ("cta_beneficiario", beneficiario, 1, "CRP20227", "donde recibiste (beneficiaria)")):
        if not value:
            continue
        pattern = patterns[index] if patterns else None
        if pattern is None:
            findings.error(field_name, f"Con esta forma de pago el SAT no admite la cuenta "
                                       f"{who}; déjala vacía ({code}).")
        elif not re.fullmatch(pattern, value):
            findings.error(field_name, f"La cuenta {who} no tiene el formato que el SAT pide "
                                       f"para la forma {forma} ({code}).")


def _check_application(app, paid_at, currency, findings):
    if app.cancelled:
        findings.error(app.field, f"La factura {app.label} está cancelada: no se le pueden "
                                  f"aplicar pagos.")
    elif not app.stamped:
        findings.error(app.field, f"La factura {app.label} no está timbrada.")
    elif app.metodo_pago != "PPD":
        findings.error(app.field, f"La factura {app.label} es PUE (pago en una sola "
                                  f"exhibición): no lleva complemento de pago. Solo las "
                                  f"facturas PPD lo llevan.")
    if paid_at is not None and paid_at.date() < app.issued:
        findings.error("paid_at", f"La fecha del pago es anterior a la factura {app.label} "
                                  f"({app.issued:%d/%m/%Y}).")
    if app.amount is None or app.amount <= 0:
        findings.error(app.field, "Indica cuánto del pago se aplica a esta factura; debe ser "
                                  "mayor que cero (SAT CRP20242).")
    elif app.amount > app.balance:
        findings.error(app.field, f"Pagas {app.amount:,.2f} y el saldo pendiente de "
                                  f"{app.label} es {app.balance:,.2f}: el saldo no puede quedar "
                                  f"negativo (SAT CRP20244).")
    if app.currency != currency and app.currency != "MXN" and not app.exchange_rate:
        findings.error(app.field, f"La factura {app.label} es en {app.currency}: indica el "
                                  f"tipo de cambio para calcular la equivalencia (SAT "
                                  f"CRP20237).")
