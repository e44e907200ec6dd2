"""Configuración: the Alegra connection and (later) the company's fiscal data."""
from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/configuracion")

from . import views  # noqa: E402,F401  (registers the routes on bp)
