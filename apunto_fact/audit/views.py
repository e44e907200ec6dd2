"""The bitácora page: filterable list of Alegra calls."""
from flask import request

from ..catalog import page_of
from ..extensions import db
from ..web import db_int
from ..web import render
from . import bp
from .models import AlegraCall


@bp.get("/")
def index():
    """List Alegra calls, newest first; filter by outcome, invoice or path."""
    query = db.select(AlegraCall).order_by(AlegraCall.id.desc())
    outcome = request.args.get("resultado", "")
    if outcome == "errores":
        query = query.where((AlegraCall.status.is_(None)) | (AlegraCall.status >= 400))
    invoice_id = request.args.get("factura", type=db_int)
    if invoice_id:
        query = query.where(AlegraCall.invoice_id == invoice_id)
    path = request.args.get("ruta", "")[:100].strip()
    if path:
        query = query.where(AlegraCall.path.contains(path, autoescape=True))
    # The bitácora only grows: page without counting it.
    results = page_of(query, request.args.get("page", 1, type=db_int), per_page=50)
    return render("audit/index.html", "audit/_rows.html", results=results, outcome=outcome,
                  invoice_id=invoice_id, path=path)


@bp.get("/acciones")
def actions():
    """Who stamped, cancelled or changed settings and accounts, newest first."""
    from ..auth.models import UserAction

    query = db.select(UserAction).order_by(UserAction.id.desc())
    invoice_id = request.args.get("factura", type=db_int)
    if invoice_id:
        query = query.where(UserAction.invoice_id == invoice_id)
    results = page_of(query, request.args.get("page", 1, type=db_int), per_page=50)
    return render("audit/actions.html", results=results, invoice_id=invoice_id)
