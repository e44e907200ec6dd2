"""Autocomplete over the large SAT catalogs (HTMX fragments)."""
from flask import Blueprint
from flask import abort
from flask import render_template
from flask import request

from .search import PRODUCTOS
from .search import UNIDADES

bp = Blueprint("sat", __name__, url_prefix="/sat")

CATALOGS = {"productos": PRODUCTOS, "unidades": UNIDADES}


@bp.get("/<any(productos, unidades):catalog>")
def lookup(catalog):
    """Return up to 20 matches by key prefix or words, as a pick list for `target`."""
    target = request.args.get("target", "")
    if target not in ("clave_prod_serv", "clave_unidad"):
        abort(400)
    query = request.args.get(target, "")[:100]
    entries = CATALOGS[catalog].search(query) if len(query.strip()) >= 2 else []
    return render_template("sat/_options.html", entries=entries, target=target, query=query)
