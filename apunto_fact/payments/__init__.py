"""Pagos: payments received on PPD invoices and their complement (REP, Pagos 2.0)."""
from flask import Blueprint

bp = Blueprint("payments", __name__, url_prefix="/pagos")

from . import views  # noqa: E402,F401  (registers the routes on bp)
