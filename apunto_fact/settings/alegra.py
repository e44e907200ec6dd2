"""The Alegra connection: credentials, the client built from them, and the status check."""
from flask import current_app

from .. import crypto
from ..alegra import AlegraClient
from ..alegra import AlegraError
from ..alegra import api
from ..alegra import budget
from ..audit.recorder import recorder
from ..extensions import db
from ..timeutil import utcnow
from .models import AlegraConnection

ENVIRONMENTS = {
    "sandbox": "Sandbox local (pruebas)",
    "production": "Alegra (producción)",
}

# What to do about each HTTP status Alegra can answer (alegra-api.md §2.2).
HINTS = {
    401: "Revisa el correo y el token (en Alegra: Configuración → API – Integraciones). "
         "Si generaste un token nuevo, el anterior dejó de funcionar.",
    402: "Tu plan de Alegra no incluye acceso a la API: se necesita el plan PLUS o superior.",
    403: "El usuario de la API no tiene permiso para esta acción; pide al administrador de la "
         "cuenta de Alegra que le dé acceso.",
    404: "La dirección de la API no es correcta; revisa APUNTO_ALEGRA_URL.",
}


class NotConfigured(Exception):
    """No usable credentials are stored yet."""


def connection():
    """Return the single connection row, creating the default (sandbox) one."""
    conn = db.session.get(AlegraConnection, 1)
    if conn is None:
        conn = AlegraConnection(id=1, environment="sandbox", status="unknown")
        db.session.add(conn)
        db.session.commit()
    return conn


def base_url(environment):
    """Return the API base URL for an environment."""
    key = "ALEGRA_SANDBOX_URL" if environment == "sandbox" else "ALEGRA_PRODUCTION_URL"
    return current_app.config[key]


def token_ending(conn):
    """Return the last 4 characters of the stored token, for recognising it."""
    if not conn.token_encrypted:
        return None
    return crypto.decrypt(conn.token_encrypted)[-4:]


def save_credentials(conn, environment, email, token):
    """Store credentials; return a dict of field errors (empty when saved).

    An empty token keeps the stored one, except when there is none or the environment
    changes (a token belongs to one environment).
    """
    if not token and (not conn.token_encrypted or environment != conn.environment):
        return {"api_token": "Escribe el token de la API para este entorno."}
    if token:
        try:
            conn.token_encrypted = crypto.encrypt(token)
        except crypto.KeyProblem as exc:
            return {"api_token": str(exc)}
    conn.environment, conn.api_email = environment, email
    conn.status, conn.status_message, conn.status_http = "unknown", None, None
    conn.diagnostic_ok_at = None  # another account, or the same one seen anew
    db.session.commit()
    return {}


def use_demo_credentials(conn):
    """Point the connection at the local sandbox with its demo credentials."""
    cfg = current_app.config
    return save_credentials(conn, "sandbox", cfg["SANDBOX_EMAIL"], cfg["SANDBOX_TOKEN"])


def make_client(conn=None, invoice_id=None, **overrides):
    """Build an AlegraClient from the stored credentials; every call goes to the bitácora.

    :raise NotConfigured: no e-mail or token stored.
    :raise crypto.KeyProblem: the token cannot be decrypted.
    """
    conn = conn or connection()
    if not conn.api_email or not conn.token_encrypted:
        raise NotConfigured("Aún no se han guardado las credenciales de Alegra.")
    cfg = current_app.config
    options = {
        "on_call": recorder(invoice_id),
        "connect_timeout": cfg["ALEGRA_CONNECT_TIMEOUT"],
        "read_timeout": cfg["ALEGRA_READ_TIMEOUT"],
        "max_rate_wait": cfg["ALEGRA_MAX_RATE_WAIT"],
        "backoff": cfg["ALEGRA_RETRY_BACKOFF"],
        **overrides,
    }
    url = base_url(conn.environment)
    options.setdefault("budget", budget.for_user(url, conn.api_email))
    return AlegraClient(url, conn.api_email, crypto.decrypt(conn.token_encrypted), **options)


def check_connection():
    """Call GET /company, store and return the resulting status on the connection row."""
    conn = connection()
    conn.status_checked_at = utcnow()
    conn.status_http = conn.status_hint = None
    try:
        client = make_client(conn, read_timeout=current_app.config["ALEGRA_STATUS_READ_TIMEOUT"],
                             get_retries=0, max_rate_wait=0)
        info = api.get_company(client)
    except NotConfigured as exc:
        conn.status, conn.status_message = "unconfigured", str(exc)
    except crypto.KeyProblem as exc:
        conn.status, conn.status_message = "error", str(exc)
    except AlegraError as err:
        if err.kind == "busy" or err.status == 429:
            return _not_checked(err)
        _store_error(conn, err)
    else:
        conn.status, conn.status_message = "connected", None
        conn.company_name, conn.company_rfc = info.name, info.rfc
    db.session.commit()
    return conn


def _not_checked(err):
    """Alegra's per-minute limit (our shared budget or its 429) says nothing about the
    credentials: the stored status stays as it was — a spent minute during a lot must not mark
    the connection unverified and block every Timbrar — and the page says why it was not
    checked (conn.not_checked, for this answer only)."""
    db.session.rollback()
    conn = connection()
    wait = f"intenta de nuevo en {err.reset} s" if err.reset is not None else (
        "intenta de nuevo en menos de un minuto")
    status = f" (HTTP {err.status}: {err.message})" if err.status == 429 else ""
    conn.not_checked = (
        f"No se pudo comprobar ahora{status}: se alcanzó el límite de solicitudes por minuto "
        f"de Alegra; se restablece en {err.reset if err.reset is not None else 'menos de 60'} s. "
        f"La conexión sigue como estaba; {wait}.")
    return conn


def _store_error(conn, err):
    conn.status = "error"
    conn.status_message = err.message
    conn.status_http = err.status
    if err.status == 429:
        wait = f" en {err.reset} s" if err.reset is not None else " en menos de un minuto"
        conn.status_hint = f"Se alcanzó el límite de 150 solicitudes por minuto; se restablece{wait}."
    elif err.status and err.status >= 500:
        conn.status_hint = "Alegra tiene una falla temporal; intenta de nuevo en unos minutos."
    elif err.kind == "timeout":
        conn.status_hint = "Alegra está lento o tu conexión a internet falla; intenta de nuevo."
    elif err.kind == "connection":
        conn.status_hint = ("¿Está corriendo el sandbox local? Se inicia con «make run»."
                            if conn.environment == "sandbox"
                            else "Revisa tu conexión a internet.")
    else:
        conn.status_hint = HINTS.get(err.status)
