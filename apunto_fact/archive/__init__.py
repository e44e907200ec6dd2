"""Archivo: the month's ZIP of XML and PDF files with its register, for the SAT's five years."""
from flask import Blueprint

bp = Blueprint("archive", __name__, url_prefix="/archivo")

from . import views  # noqa: E402,F401  (registers the routes on bp)
