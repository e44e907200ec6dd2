"""What to do about each rejection Alegra relays, and which field it is about.

Alegra's own message is always shown verbatim; these hints add the fix in plain Spanish
(cfdi40-rules.md §12; alegra-api.md §2.3–§2.4).
"""
import re

SAT_CODE = re.compile(r"CFDI\d{5,6}")

# code -> (field of our screens, hint)
HINTS = {
    "CFDI40145": ("customer.name", "El nombre del cliente debe ser exactamente el de su "
                  "Constancia de Situación Fiscal, en mayúsculas y sin «S.A. de C.V.» ni "
                  "similares. Corrígelo en la ficha del cliente y vuelve a timbrar."),
    "CFDI40144": ("customer.name", "El SAT no encuentra ese nombre para el RFC; cópialo de la "
                  "Constancia de Situación Fiscal del cliente."),
    "CFDI40143": ("customer.rfc", "El RFC del cliente no está en la lista del SAT de RFC "
                  "inscritos; pídele su Constancia de Situación Fiscal y revísalo."),
    "CFDI40147": ("customer.cp", "El código postal debe ser el del domicilio fiscal del cliente "
                  "registrado en el SAT (el de su Constancia de Situación Fiscal)."),
    "CFDI40148": ("customer.cp", "El código postal debe ser el del domicilio fiscal del cliente "
                  "registrado en el SAT."),
    "CFDI40157": ("customer.regimen", "El régimen fiscal del cliente no es válido; elige el de "
                  "su Constancia de Situación Fiscal."),
    "CFDI40158": ("customer.regimen", "El régimen fiscal del cliente no corresponde a su RFC; "
                  "elige el que aparece en su Constancia de Situación Fiscal."),
    "CFDI40161": ("uso_cfdi", "Ese uso de CFDI no se permite con el régimen del cliente; "
                  "elige otro uso."),
    "CFDI40105": ("forma_pago", "Con PPD la forma de pago debe ser 99 Por definir."),
    "CFDI40162": ("lines", "Una clave de producto no existe en el catálogo del SAT; revisa los "
                  "productos de la factura."),
    "CFDI40165": ("lines", "Una clave de unidad no existe en el catálogo del SAT; revisa los "
                  "productos."),
    "CFDI40101": ("date", "La fecha debe ser de las últimas 72 horas; usa la fecha de hoy."),
}
ALEGRA_HINTS = {
    2006: ("customer.rfc", "Ya existe un contacto con ese RFC en Alegra."),
    3003: ("customer", "Alegra no reconoce al cliente; vuelve a timbrar para registrarlo."),
    401: (None, "Revisa las credenciales en Configuración → Integraciones → Alegra."),
    402: (None, "Tu plan de Alegra no incluye la API: se necesita el plan PLUS."),
    403: (None, "El usuario de la API no tiene permiso para timbrar en Alegra."),
}


def explain(err):
    """Return (sat_or_alegra_code, field, hint) for an AlegraError."""
    found = SAT_CODE.search(err.message or "")
    if found and found.group(0) in HINTS:
        field, hint = HINTS[found.group(0)]
        return found.group(0), field, hint
    for key in (err.code, err.status):
        if key in ALEGRA_HINTS:
            field, hint = ALEGRA_HINTS[key]
            return str(err.code or err.status), field, hint
    code = found.group(0) if found else (str(err.code) if err.code else None)
    return code, None, None
