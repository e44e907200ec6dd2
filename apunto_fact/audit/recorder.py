"""Write one bitácora row per Alegra call, in its own transaction."""
import logging

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..timeutil import utcnow
from .models import AlegraCall

log = logging.getLogger(__name__)


def recorder(invoice_id=None):
    """Return an on_call hook for AlegraClient that records calls (never credentials).

    Rows are written on a separate connection so they survive a rollback of the work
    they describe; callers commit before calling Alegra, so no write lock is held here.
    """
    app = current_app._get_current_object()

    def record(method, path, status, duration_ms, error):
        row = {"at": utcnow(), "method": method, "path": path[:200], "status": status,
               "duration_ms": duration_ms, "invoice_id": invoice_id,
               "code": str(error.code) if error is not None and error.code else None,
               "message": (error.message[:2000] if error is not None else None)}
        try:
            with app.app_context(), db.engine.begin() as connection:
                connection.execute(AlegraCall.__table__.insert().values(**row))
        except SQLAlchemyError:
            log.warning("Could not record an Alegra call in the bitácora", exc_info=True)

    return record
