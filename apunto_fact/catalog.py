"""What the catalogs (customers, products) share: bookkeeping columns, search, archiving."""
from dataclasses import dataclass

from flask import abort
from flask import flash
from flask import request
from flask import url_for

from .extensions import db
from .sat.search import fold
from .timeutil import utcnow
from .web import db_int
from .web import redirect_to
from .web import render

PAGE_SIZE = 25


@dataclass
class Page:
    """A page of rows without a total count (counting a large table costs a full scan)."""

    items: list
    page: int
    has_next: bool
    pages: int | None = None
    total: int | None = None

    @property
    def has_prev(self):
        """True after the first page."""
        return self.page > 1

    @property
    def prev_num(self):
        """Number of the previous page."""
        return self.page - 1

    @property
    def next_num(self):
        """Number of the next page."""
        return self.page + 1


def page_of(query, page, per_page=PAGE_SIZE):
    """Fetch one page of query, reading one extra row to know whether another follows."""
    page = min(max(page, 1), 10 ** 6)  # a huge page number would overflow OFFSET
    rows = db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)).all()
    return Page(items=rows[:per_page], page=page, has_next=len(rows) > per_page)


class CatalogRecord:
    """Columns of a catalog row: search text, archiving, timestamps, its Alegra twin."""

    search_text = db.Column(db.String(400), nullable=False, default="", index=True)
    archived_at = db.Column(db.DateTime, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # The id Alegra gave it and a fingerprint of what was last sent, so an unchanged
    # record costs no API call when it is invoiced again.
    alegra_id = db.Column(db.String(40))
    alegra_fingerprint = db.Column(db.String(64))
    # How the app came to hold alegra_id: "created" (it made the record) or "linked" (an
    # exact identity match). Only such records are ever updated in the user's account.
    alegra_origin = db.Column(db.String(10))

    SEARCH_FIELDS = ()

    def refresh_search_text(self):
        """Keep the accent-free search column in step with the searchable fields."""
        self.search_text = " ".join(fold(getattr(self, f) or "") for f in self.SEARCH_FIELDS)


class AddressColumns:
    """An optional street address (the SAT only needs the CP; the PDF shows the rest)."""

    street = db.Column(db.String(200))
    exterior = db.Column(db.String(50))
    interior = db.Column(db.String(50))
    colonia = db.Column(db.String(200))
    municipio = db.Column(db.String(200))
    estado = db.Column(db.String(100))


def search(model, text="", page=1, archived=False):
    """Return a page of model rows whose search text holds every word of text."""
    query = db.select(model).where(model.archived_at.isnot(None) if archived
                                   else model.archived_at.is_(None))
    for word in fold(text).split()[:5]:
        query = query.where(model.search_text.contains(word, autoescape=True))
    return db.paginate(query.order_by(model.name, model.id), page=max(page, 1),
                       per_page=PAGE_SIZE, error_out=False)


def picklist(model, text, size=10):
    """The first few active rows matching every word of text, for an autocomplete.

    No COUNT and no OFFSET: a keystroke reads at most size + 1 rows.
    """
    query = db.select(model).where(model.archived_at.is_(None))
    for word in fold(text).split()[:5]:
        query = query.where(model.search_text.contains(word, autoescape=True))
    rows = db.session.scalars(query.order_by(model.name, model.id).limit(size + 1)).all()
    return Page(items=rows[:size], page=1, has_next=len(rows) > size)


def list_page(model, template, fragment):
    """The list view: live search, archived filter and pagination from the query string."""
    text = request.args.get("q", "")[:100]
    archived = request.args.get("archivados") == "1"
    results = search(model, text, request.args.get("page", 1, type=db_int), archived)
    return render(template, fragment, results=results, q=text, archived=archived)


def register_archiving(bp, model, noun, index_endpoint):
    """Add POST <id>/archivar and <id>/restaurar routes to bp."""

    def change(record_id, archived):
        record = db.session.get(model, record_id) or abort(404)
        record.archived_at = utcnow() if archived else None
        db.session.commit()
        done = "archivado. Sus facturas se conservan" if archived else "restaurado"
        flash(f"{noun} «{record.name}» {done}.", "ok")
        return redirect_to(url_for(index_endpoint))

    bp.add_url_rule("/<int:record_id>/archivar", "archive", methods=["POST"],
                    view_func=lambda record_id: change(record_id, True))
    bp.add_url_rule("/<int:record_id>/restaurar", "restore", methods=["POST"],
                    view_func=lambda record_id: change(record_id, False))


def export_rows(model, fields):
    """Every row (archived too) as dicts of form fields, for CSV export."""
    query = db.session.query(model).order_by(model.name, model.id)
    for record in query.yield_per(500):
        yield {name: getattr(record, name) for name in fields}
