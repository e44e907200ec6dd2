"""Error pages in Spanish; never a traceback in front of a user."""
from flask import make_response
from markupsafe import escape
from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .web import is_htmx

MESSAGES = {
    400: "La solicitud no es válida.",
    403: "No tienes permiso para ver esta página.",
    404: "La página que buscas no existe.",
    405: "Esa acción no está permitida aquí.",
    413: "Lo que enviaste es demasiado grande. Revisa que ningún campo o archivo sea enorme.",
    500: "Ocurrió un error inesperado. Nada de lo que ya estaba guardado se perdió; "
         "intenta de nuevo.",
}
FALLBACK = ('<!doctype html><html lang="es-MX"><meta charset="utf-8"><title>Error</title>'
            '<h1>{message}</h1><p>Código {status}. <a href="/">Volver al inicio</a></p></html>')
CSRF_MESSAGE = ("El formulario expiró o no se envió desde esta aplicación. Recarga la página "
                "e intenta de nuevo; lo que ya estaba guardado no cambió.")


# Refusals with something to tell: htmx swaps their panel into the page (see base.html's
# responseHandling); everything else becomes a short notice from static/app.js.
PANEL_STATUSES = (403, 404)


def respond(status, message):
    """Answer an error in Spanish: a page, a panel swapped into the page, or a notice's text."""
    if is_htmx() and status in PANEL_STATUSES:
        html = render_template("errors/_panel.html", status=status, message=message).strip()
        response = make_response(html, status)
        response.headers["HX-Retarget"] = "#problem-panel"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    if is_htmx():
        response = make_response(message, status)
        response.mimetype = "text/plain"
        return response
    try:
        html = render_template("errors/error.html", status=status, message=message)
    except Exception:  # noqa: BLE001 - the page itself may depend on what just failed (the DB)
        html = FALLBACK.format(message=escape(message), status=status)
    return make_response(html, status)


def init_app(app):
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return respond(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(error):
        status = error.code or 500
        return respond(status, MESSAGES.get(status, error.description or MESSAGES[400]))

    @app.errorhandler(Exception)
    def unexpected(error):
        db.session.rollback()
        app.logger.exception("Unhandled error: %s", type(error).__name__)
        return respond(500, MESSAGES[500])
