"""Clientes: list, search, create, edit, archive, CSV import/export."""
from flask import Blueprint

bp = Blueprint("customers", __name__, url_prefix="/clientes")

from . import views  # noqa: E402,F401  (registers the routes on bp)
