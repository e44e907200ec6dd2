"""Routes of the sandbox: /api/v1 (the Alegra contract) and /_sandbox (test switches)."""
import base64
import hmac
import socket
import time

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request

bp = Blueprint("sandbox_api", __name__, url_prefix="/api/v1")
admin = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")
files = Blueprint("sandbox_files", __name__, url_prefix="/files")

MAX_LIMIT = 30
# Alegra returns 10 number templates unless asked for more (alegra-api.md §1.5, WP plugin).
DEFAULT_LIMITS = {"number-templates": 10}

# The readings of what the evidence leaves open (alegra-evidence.md §2–§3), one switch each;
# POST /_sandbox/faults sets them, {"clear": true} restores these defaults.
READINGS = {
    "filters": ("exact", "partial", "ignored"),  # ?reference= ?identification= ?client_id= ?date=
    "number_template": ("object", "array"),              # numberTemplate in invoice bodies
    "rejected_leaves_invoice": (False, True),            # a 3051 stamp saves the invoice?
    "cancel_in_process": ("waiting", "accepted"),        # emissionStatus while cancelling
    "list_observations": (True, False),                  # observations in list rows?
}
DEFAULT_SETTINGS = {"cancel_delay": 5.0, "cancel_outcome": "accept",
                    **{name: options[0] for name, options in READINGS.items()}}


def state():
    """Return the sandbox's store, faults and limiter."""
    return current_app.extensions["sandbox"]


def alegra_error(status, message, code=None, **extra):
    """Return an Alegra-style error, shape 1 of §2.1: {code, message, ...}."""
    response = jsonify({"code": code if code is not None else status, "message": message, **extra})
    response.status_code = status
    return response


class Dropped(ConnectionResetError):
    """Raised after the socket is shut so werkzeug treats it as a dropped connection."""


def drop_connection():
    """Ask DropMiddleware to close the TCP connection instead of answering."""
    request.environ["sandbox.drop"] = True
    return current_app.response_class(status=204)


class DropMiddleware:
    """Close the client's socket without any HTTP response when a view asked for it.

    Done outside Flask, because Flask turns an exception in a view into a 500 response.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        result = self.wsgi_app(environ, start_response)
        if not environ.get("sandbox.drop"):
            return result
        if hasattr(result, "close"):
            result.close()
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise Dropped("dropped by sandbox fault injection")


def _authenticated_user():
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        email, _, token = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    cfg = current_app.config
    ok = hmac.compare_digest(email.encode(), cfg["SANDBOX_EMAIL"].encode()) and \
        hmac.compare_digest(token.encode(), cfg["SANDBOX_TOKEN"].encode())
    return email if ok else None


@bp.before_app_request
def guard():
    """Apply auth, the rate limit and any injected fault, in Alegra's order.

    App-wide (not per blueprint) so unknown API paths are also authenticated, counted
    and answered the Alegra way.
    """
    if not request.path.startswith(bp.url_prefix + "/"):
        return None
    user = _authenticated_user()
    if user is None:
        return alegra_error(401, "Las credenciales de autenticación no son válidas. Verifica "
                                 "el usuario y el token de la API.")
    s = state()
    allowed, remaining, reset = s["limiter"].hit(user)
    request.rate_headers = {"X-Rate-Limit-Limit": str(s["limiter"].limit),
                            "X-Rate-Limit-Remaining": str(remaining),
                            "X-Rate-Limit-Reset": str(reset)}
    if not allowed:
        s["faults"].count(request.method, "429")
        return alegra_error(429, "Too Many request")
    path = request.path[len(bp.url_prefix):].rstrip("/") or "/"
    s["faults"].count(request.method, path)
    if s["faults"].latency:
        time.sleep(s["faults"].latency)
    rule = s["faults"].take(request.method, path)
    request.fault = rule
    if rule is None or rule["action"] in ("commit_then_drop", "commit_then_respond"):
        return None
    if rule["action"] == "delay":
        time.sleep(float(rule.get("delay", 0)))
        return None
    if rule["action"] == "drop":
        return drop_connection()
    return _fault_response(rule)


def _fault_response(rule):
    """The answer a rule dictates: Alegra's JSON, or a string body (a proxy's HTML page)."""
    body = rule.get("body") or {"code": rule.get("status", 500),
                                "message": "Error interno del servidor (simulado)."}
    response = jsonify(body) if not isinstance(body, str) else current_app.response_class(body)
    response.status_code = int(rule.get("status", 500))
    for key, value in getattr(request, "rate_headers", {}).items():
        response.headers[key] = value
    return response


@bp.after_app_request
def rate_headers(response):
    """Send the X-Rate-Limit-* headers on every response, as Alegra does."""
    for key, value in getattr(request, "rate_headers", {}).items():
        response.headers[key] = value
    fault = getattr(request, "fault", None)
    if fault and fault["action"] == "commit_then_drop" and response.status_code < 400:
        # The work (e.g. the invoice) is already committed; the client never hears of it.
        return drop_connection()
    if fault and fault["action"] == "commit_then_respond" and response.status_code < 400:
        # Committed, but a proxy in between answers with its own error page (ATTACK F5).
        return _fault_response(fault)
    return response


@bp.app_errorhandler(404)
def not_found(_error):
    """Answer unknown routes and ids the Alegra way."""
    return alegra_error(404, "El recurso solicitado no existe.")


@bp.app_errorhandler(405)
def not_allowed(_error):
    """Answer a wrong HTTP method the Alegra way."""
    return alegra_error(405, "Método no permitido.")


def paginate(kind, rows):
    """Apply start/limit/order_* and the metadata envelope (§1.5)."""
    try:
        start = int(request.args.get("start", 0))
        limit = int(request.args.get("limit", DEFAULT_LIMITS.get(kind, MAX_LIMIT)))
    except ValueError:
        return alegra_error(400, "Los parámetros start y limit deben ser números enteros.")
    if start < 0 or limit < 1:
        return alegra_error(400, f"El parámetro limit debe estar entre 1 y {MAX_LIMIT}.")
    # Real clients send limit above 30 and are answered (evidence §5): at most 30 rows.
    limit = min(limit, MAX_LIMIT)
    field = request.args.get("order_field")
    if field:
        descending = request.args.get("order_direction", "ASC").upper() == "DESC"
        rows = sorted(rows, key=lambda r: _sort_key(r.get(field)), reverse=descending)
    page = rows[start:start + limit]
    if request.args.get("metadata") == "true":
        return jsonify({"metadata": {"total": len(rows)}, "data": page})
    return jsonify(page)


def _sort_key(value):
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value or ""))


@bp.get("/company")
def company():
    """Return the demo company."""
    return jsonify(state()["store"].get("company", 1))


@bp.get("/<any(taxes, retentions, currencies, terms, 'number-templates'):kind>")
def catalog_list(kind):
    """List one of the seeded catalogs."""
    return paginate(kind, state()["store"].all(kind))


@bp.get("/<any(taxes, retentions, terms, 'number-templates'):kind>/<doc_id>")
def catalog_one(kind, doc_id):
    """Return one catalog entry."""
    doc = state()["store"].get(kind, doc_id)
    return jsonify(doc) if doc else alegra_error(404, "El recurso solicitado no existe.")


# -- test switches (not part of Alegra's API) ---------------------------------------------
# A web page in the user's browser can send a cross-origin "simple" POST (text/plain) to
# 127.0.0.1 without asking; a custom header forces a CORS preflight, which we never answer.
CONTROL_HEADER = "X-Sandbox-Control"


@admin.before_request
def require_control_header():
    """Accept test switches only from tools that send the custom header."""
    if request.headers.get(CONTROL_HEADER) != "1":
        return alegra_error(403, f"Los controles del sandbox requieren el encabezado "
                                 f"{CONTROL_HEADER}: 1.")
    return None


@admin.post("/faults")
def set_faults():
    """Configure latency, injected responses and the rate limit."""
    data = request.get_json(force=True, silent=True) or {}
    s = state()
    s["faults"].configure(data)
    if "rate_limit" in data or "window" in data:
        s["limiter"].configure(data.get("rate_limit"), data.get("window"))
    behaviour = s.setdefault("settings", dict(DEFAULT_SETTINGS))
    if data.get("clear"):
        behaviour.clear()
        behaviour.update(DEFAULT_SETTINGS)
    for key in DEFAULT_SETTINGS:
        if key in data:
            if key in READINGS and data[key] not in READINGS[key]:
                return jsonify({"ok": False, "error": f"{key} must be one of {READINGS[key]}"}), 400
            behaviour[key] = data[key]
    return jsonify({"ok": True, "rules": s["faults"].rules, "latency": s["faults"].latency,
                    "settings": behaviour})


@admin.get("/stats")
def stats():
    """Return how many authenticated API calls were received, by method and path."""
    return jsonify(state()["faults"].stats())


@admin.post("/records/<kind>")
def add_record(kind):
    """Put a record straight into the store, as if the user had made it in Alegra."""
    data = request.get_json(force=True, silent=True) or {}
    return jsonify(state()["store"].insert(kind, {"status": "active", **data})), 201


@admin.post("/stats/reset")
def reset_stats():
    """Forget the call counters."""
    state()["faults"].reset_stats()
    return jsonify({"ok": True})


@files.get("/<token>")
def download(token):
    """Serve a stamped XML or PDF by its unguessable token (a signed URL, §6.5)."""
    content = state()["store"].file(token)
    if content is None:
        return alegra_error(404, "El archivo no existe.")
    kind = "application/pdf" if content.startswith(b"%PDF") else "application/xml"
    return current_app.response_class(content, mimetype=kind)
