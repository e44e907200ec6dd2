"""What the invoice and payment (REP) pages share: their archived files and replacements."""
from flask import Response
from flask import abort
from flask import flash

from ..extensions import db
from ..web import redirect_to
from .states import STAMPED

MIMETYPES = {"xml": "application/xml", "pdf": "application/pdf"}


def stored_file(document, kind, fetch, back_url):
    """The archived XML or PDF of a stamped document; fetch() from Alegra only if missing."""
    from ..invoices import archive  # the invoices package imports this module
    if not document.uuid:
        abort(404)
    content = archive.read(document, kind)
    if content is None:
        try:
            fetch()
        except Exception:  # noqa: BLE001 - any failure ends in the same Spanish message
            pass
        content = archive.read(document, kind)
    if content is None:
        flash("El archivo no está en el archivo local y Alegra no respondió; intenta más "
              "tarde.", "error")
        return redirect_to(back_url)
    return Response(content, mimetype=MIMETYPES[kind], headers={
        "Content-Disposition": f'attachment; filename="{archive.file_name(document, kind)}"'})


def replacements(document):
    """Stamped documents of the same kind and customer that can replace it (motive 01)."""
    model = type(document)
    return db.session.query(model).filter(
        model.customer_id == document.customer_id, model.id != document.id,
        model.status == STAMPED).order_by(model.id.desc()).limit(50).all()
