"""Productos y servicios: catalog with SAT keys, taxes and CSV import/export."""
from flask import Blueprint

bp = Blueprint("products", __name__, url_prefix="/productos")

from . import views  # noqa: E402,F401  (registers the routes on bp)
