"""The bitácora page: filterable list of Alegra calls."""
from flask import request

from ..extensions import db
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
    invoice_id = request.args.get("factura", type=int)
    if invoice_id:
        query = query.where(AlegraCall.invoice_id == invoice_id)
    path = request.args.get("ruta", "")[:100].strip()
    if path:
        query = query.where(AlegraCall.path.contains(path, autoescape=True))
    results = db.paginate(query, page=max(request.args.get("page", 1, type=int), 1),
                          per_page=50, error_out=False)
    return render("audit/index.html", "audit/_rows.html", results=results, outcome=outcome,
                  invoice_id=invoice_id, path=path)
