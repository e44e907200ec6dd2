"""«Descargar mes»: the month's ZIP, streamed from the local archive."""

from flask import Response
from flask import flash
from flask import request
from flask import stream_with_context
from flask import url_for

from ..web import redirect_to
from . import bp
from . import export
from .. import timeutil


@bp.get("/mes")
def month():
    """Stream the ZIP of a month (mes=YYYY-MM) with its XML, PDF and register."""
    text = request.args.get("mes", "")
    try:
        export.parse_month(text)
    except export.BadMonth as exc:
        flash(str(exc), "error")
        return redirect_to(url_for("invoices.index"))
    return Response(stream_with_context(export.stream_month(text)), mimetype="application/zip",
                    headers={"Content-Disposition":
                             f'attachment; filename="{export.zip_name(text)}"'})


@bp.app_template_global()
def current_month():
    """This month as YYYY-MM, the default of «Descargar mes»."""
    return timeutil.today().strftime("%Y-%m")
