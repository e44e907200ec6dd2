"""Correo: sending stamped invoices and REPs to the customer through Alegra, once per click."""
from flask import Blueprint

bp = Blueprint("mail", __name__, url_prefix="/correo")

from . import views  # noqa: E402,F401  (registers the routes on bp)
