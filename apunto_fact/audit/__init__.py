"""Bitácora: every call to Alegra, recorded by the client's on_call hook."""
from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/bitacora")

from . import views  # noqa: E402,F401  (registers the routes on bp)
