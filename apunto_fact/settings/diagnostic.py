"""«Revisar mi cuenta de Alegra»: read-only checks that the account can stamp what we send.

Only GET calls (alegra/api.py); each finding says, in Spanish, what is wrong, what to do and
where in Alegra's menus. Run from the Alegra settings page, and by itself before the first
stamp in production (before_first_stamp).
"""
from dataclasses import dataclass
from dataclasses import field

from flask import url_for
from sqlalchemy import func
from sqlalchemy import select

from .. import crypto
from ..alegra import AlegraError
from ..alegra import api
from ..alegra import mapping
from ..extensions import db
from ..sat import catalogs as cat
from ..sat.search import fold
from ..timeutil import utcnow
from . import alegra
from . import company as company_data

MENU_COMPANY = "Alegra → Configuración → Empresa"
MENU_NUMBERING = "Alegra → Configuración → Numeraciones"
MENU_TAXES = "Alegra → Configuración → Impuestos"
MENU_RETENTIONS = "Alegra → Configuración → Retenciones"
MENU_CURRENCIES = "Alegra → Configuración → Multimoneda"
MENU_PLAN = "Alegra → Mi suscripción"
MENU_API = "Alegra → Configuración → Integraciones → API"
ALL_READY = "Todo listo para timbrar"


@dataclass(frozen=True)
class Finding:
    """One thing checked: ok or not, what it means, what to do and where."""

    topic: str
    ok: bool
    message: str
    action: str = ""
    where: str = ""
    blocking: bool = True


@dataclass
class Report:
    """Every finding of one run; ``ready`` when nothing blocks a stamp."""

    findings: list = field(default_factory=list)

    @property
    def problems(self):
        """Findings that need the user's attention."""
        return [f for f in self.findings if not f.ok]

    @property
    def ready(self):
        """True when no finding blocks stamping."""
        return not any(f.blocking for f in self.problems)

    @property
    def summary(self):
        """One Spanish sentence for the top of the result."""
        if not self.problems:
            return f"{ALL_READY}: tu cuenta de Alegra tiene todo lo que apunto-fact usa."
        count = len(self.problems)
        return (f"Encontramos {count} {'cosa' if count == 1 else 'cosas'} por arreglar en tu "
                f"cuenta de Alegra antes de timbrar." if not self.ready else
                f"Puedes timbrar; revisa {'este aviso' if count == 1 else 'estos avisos'}.")


def run(conn=None):
    """Run every check with read-only calls; return a Report (never raises for Alegra)."""
    report = Report()
    try:
        client = alegra.make_client(conn, get_retries=0)
        company = api.get_company_raw(client)
    except (alegra.NotConfigured, crypto.KeyProblem) as exc:
        report.findings.append(Finding("conexion", False, str(exc),
                                       "Guarda tu correo y token de la API de Alegra arriba.",
                                       MENU_API))
        return report
    except AlegraError as err:
        report.findings.append(_access_finding(err))
        return report
    report.findings.append(Finding("plan", True, "Tu plan de Alegra permite usar la API."))
    steps = ((_check_company, company), (_check_numbering, client), (_check_taxes, client),
             (_check_currencies, client))
    for check, arg in steps:
        try:
            report.findings.extend(check(arg))
        except AlegraError as err:
            report.findings.append(Finding("lectura", False, f"No se pudo leer parte de la "
                                                             f"cuenta: {err.message}",
                                           "Vuelve a revisar en unos minutos.", blocking=False))
    return report


def _access_finding(err):
    if err.status == 402:
        return Finding("plan", False, "Tu plan de Alegra no incluye acceso a la API.",
                       "Cambia al plan PLUS o superior para timbrar desde apunto-fact.",
                       MENU_PLAN)
    if err.status == 401:
        return Finding("conexion", False, "Alegra no aceptó el correo y token guardados.",
                       "Copia de nuevo el token de la API y guárdalo arriba.", MENU_API)
    if err.status == 403:
        return Finding("conexion", False, "El usuario de la API no tiene permiso para leer la "
                                          "empresa.",
                       "Pide al administrador de la cuenta que le dé acceso total.",
                       "Alegra → Configuración → Usuarios")
    return Finding("conexion", False, f"No se pudo consultar Alegra: {err.message}",
                   "Revisa tu conexión a internet y vuelve a intentar.", blocking=True)


def _same_name(a, b):
    return " ".join(fold(a or "").upper().split()) == " ".join(fold(b or "").upper().split())


def _check_company(body):
    ours = company_data.get()
    info = mapping.company_from_alegra(body)
    regime = mapping.REGIME_CODES.get(body.get("regime"))
    found = []
    if ours is None:
        return [Finding("empresa", False, "Aún no capturas los datos fiscales de tu empresa en "
                                          "apunto-fact, así que no se pueden comparar.",
                        "Llénalos en Configuración → Datos fiscales (aquí, en apunto-fact).")]
    pairs = (
        ("RFC", info.rfc, ours.rfc, info.rfc == ours.rfc),
        ("razón social", info.name, ours.name, _same_name(info.name, ours.name)),
        ("régimen fiscal", regime or body.get("regime"), ours.regimen, regime == ours.regimen),
        ("código postal", info.zip_code, ours.cp, info.zip_code == ours.cp),
    )
    for label, theirs, mine, same in pairs:
        if same:
            found.append(Finding("empresa", True, f"El {label} coincide ({mine})."))
        elif not theirs:
            found.append(Finding("empresa", False, f"Tu empresa en Alegra no tiene {label}; "
                                                   f"aquí es «{mine}».",
                                 f"Escribe en Alegra el {label} «{mine}», idéntico a tu "
                                 f"Constancia de Situación Fiscal.", MENU_COMPANY))
        else:
            found.append(Finding("empresa", False, f"El {label} en Alegra es «{theirs}» y aquí "
                                                   f"«{mine}». Alegra timbra con sus datos.",
                                 f"Corrige el que no coincida con tu Constancia de Situación "
                                 f"Fiscal (aquí en Datos fiscales, o en Alegra).", MENU_COMPANY))
    return found


def _check_numbering(client):
    rows = api.list_number_templates(client)
    electronic = [r for r in rows if r.get("documentType") == "invoice"
                  and r.get("isElectronic") and r.get("status", "active") == "active"]
    if electronic:
        return [Finding("numeracion", True, f"Hay una numeración electrónica de facturas "
                                            f"({electronic[0].get('name') or 'activa'}).")]
    return [Finding("numeracion", False, "Tu cuenta no tiene una numeración electrónica de "
                                         "facturas activa: sin ella Alegra no timbra.",
                    "Crea una numeración para «Factura de venta» marcada como electrónica y "
                    "déjala como preferida.", MENU_NUMBERING)]


def _needed_taxes():
    """(kind, value) of every tax and retention the catalog uses; IVA 16 % at least."""
    from ..products.models import Product
    needed = {("iva", "16")}
    for kind in ("iva", "ieps", "ret_isr", "ret_iva"):
        column = getattr(Product, kind)
        for (value,) in db.session.execute(
                select(column).where(column.isnot(None), column != "",
                                     Product.archived_at.is_(None)).distinct()):
            needed.add((kind, value))
    return sorted(needed)


def _tax_label(kind, value):
    if kind == "iva":
        return cat.IVA_OPTIONS.get(value, f"IVA {value} %")
    if kind == "ieps":
        return cat.IEPS_OPTIONS.get(value, f"IEPS {value} %")
    return (cat.RET_ISR_OPTIONS if kind == "ret_isr" else cat.RET_IVA_OPTIONS).get(
        value, f"Retención {value} %")


def _check_taxes(client):
    have = {"taxes": None, "retentions": None}
    found = []
    for kind, value in _needed_taxes():
        source = "retentions" if kind.startswith("ret_") else "taxes"
        if have[source] is None:
            rows = api.list_taxes(client) if source == "taxes" else api.list_retentions(client)
            have[source] = {mapping.tax_key(r) for r in rows
                            if r.get("status", "active") == "active"}
        label = _tax_label(kind, value)
        if mapping.our_tax_key(kind, value) in have[source]:
            found.append(Finding("impuestos", True, f"{label}: existe en Alegra."))
        else:
            menu = MENU_RETENTIONS if source == "retentions" else MENU_TAXES
            found.append(Finding("impuestos", False, f"{label}: tu catálogo lo usa y no existe "
                                                     f"en Alegra.",
                                 f"Agrégalo con el mismo tipo y porcentaje.", menu))
    return found


def _currencies_in_use():
    from ..invoices.models import Invoice
    used = {c for (c,) in db.session.execute(select(func.distinct(Invoice.currency)))}
    return sorted(used - {"MXN", None})


def _check_currencies(client):
    used = _currencies_in_use()
    if not used:
        return []
    rows = {str(r.get("code") or "").upper(): r for r in api.list_currencies(client)}
    found = []
    for code in used:
        row = rows.get(code)
        rate = mapping.to_decimal((row or {}).get("exchangeRate"))
        if row is None or row.get("status", "active") != "active":
            found.append(Finding("monedas", False, f"Facturas en {code} y esa moneda no está "
                                                   f"activa en Alegra.",
                                 f"Activa la multimoneda y agrega {code}.", MENU_CURRENCIES,
                                 blocking=False))
        elif not rate or rate <= 0:
            found.append(Finding("monedas", False, f"{code} está activa en Alegra pero sin tipo "
                                                   f"de cambio.",
                                 f"Escribe el tipo de cambio de {code}.", MENU_CURRENCIES,
                                 blocking=False))
        else:
            found.append(Finding("monedas", True, f"{code} está activa con tipo de cambio "
                                                  f"{rate}."))
    return found


def before_first_stamp():
    """Messages that block the first stamp in production; [] once the account passed.

    The check runs at most until it passes once for the stored credentials; an invoice
    already stamped in production also means the account works.
    """
    from ..invoices.models import Invoice
    conn = alegra.connection()
    if conn.environment != "production" or conn.diagnostic_ok_at is not None:
        return []
    if db.session.scalar(select(Invoice.id).where(Invoice.uuid.isnot(None)).limit(1)):
        return []
    report = run(conn)
    if report.ready:
        conn.diagnostic_ok_at = utcnow()
        db.session.commit()
        return []
    from ..invoices.readiness import Problem
    link = url_for("settings.alegra")
    return [Problem("alegra", f"Antes del primer timbrado revisamos tu cuenta de Alegra: "
                              f"{f.message} {f.action}" + (f" ({f.where})" if f.where else ""),
                    link) for f in report.problems if f.blocking]


def remember(report, conn=None):
    """Store a passing run so the first stamp does not repeat it."""
    conn = conn or alegra.connection()
    conn.diagnostic_ok_at = utcnow() if report.ready else None
    db.session.commit()
