"""HTTP security headers for every response."""
from flask import abort
from flask import request

# htmx is loaded from our own static folder and configured with allowEval=false, so no
# inline script or eval is needed anywhere.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
       "object-src 'none'")


def init_app(app):
    """Add the headers after every request; refuse NUL in the query string."""

    @app.before_request
    def no_nul_in_query():
        # Search boxes go straight into SQL parameters; PostgreSQL refuses NUL with an
        # error. Form fields get their own message (forms.TextMeta); a query has no field.
        if any("\x00" in value for value in request.args.values()):
            abort(400)

    @app.after_request
    def secure_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        # Pages and downloads (XML, PDF, CSV) hold fiscal and personal data: no copy in
        # the browser's or a proxy's cache. Only our own static files may be cached.
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response
