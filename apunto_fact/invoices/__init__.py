"""Facturas: drafts, totals, stamping, downloads and cancellation."""
from flask import Blueprint

bp = Blueprint("invoices", __name__, url_prefix="/facturas")

from . import views  # noqa: E402,F401  (registers the routes on bp)
