"""HTMX-aware response helpers shared by every blueprint."""
import datetime

from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from werkzeug.routing import IntegerConverter


def is_htmx():
    """Return True when htmx asked for a fragment (not a boosted navigation or history restore).

    Back/Forward after a swap makes htmx fetch the URL with HX-History-Restore-Request and
    replace the whole body: that request needs the full page, navigation and filters included.
    """
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true" and \
        headers.get("HX-History-Restore-Request") != "true"


def render(template, fragment=None, status=200, **context):
    """Render the fragment for htmx requests and the full page otherwise."""
    name = fragment if fragment and is_htmx() else template
    return make_response(render_template(name, **context), status)


def invalid(template, fragment=None, **context):
    """Render a form with errors: 422 so htmx swaps it and tests can tell (house style)."""
    return render(template, fragment, status=422, **context)


def redirect_to(url):
    """Redirect a normal request with 303, and an htmx request with HX-Redirect.

    HX-Redirect loads the page in full (with its flash message); HX-Location would fetch
    it as an htmx request and receive the fragment meant for in-page swaps.
    """
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


# Ids and page numbers fit a 32-bit INTEGER column on every supported database.
MAX_INT = 2**31 - 1


def db_int(value):
    """type= for request.args/form.get: an int a database column can hold, else ValueError."""
    number = int(str(value).strip())
    if not 0 <= number <= MAX_INT:
        raise ValueError("out of range")
    return number


def db_date(value):
    """type= for request.args.get: an ISO date (YYYY-MM-DD), else ValueError."""
    return datetime.date.fromisoformat(str(value).strip()[:10])


class BoundedIntConverter(IntegerConverter):
    """<int:...> in URLs: larger numbers are a 404, not an overflow in the database."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)
