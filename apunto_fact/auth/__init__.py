"""Owner account: first-run creation, login, logout and the guard on every page."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401  (registers the routes on bp)
