"""What the catalogs (customers, products) share: bookkeeping columns, search, archiving."""
from dataclasses import dataclass

from flask import abort
from flask import flash
from flask import request
from flask import url_for
import sqlalchemy as sa

from . import fulltext
from .extensions import db
from .sat.search import fold
from .timeutil import utcnow
from .web import db_int
from .web import redirect_to
from .web import render

PAGE_SIZE = 25
# Up to this many matches are fetched and sorted; beyond, the rows are walked in name order
# (at 1 % of a catalog matching, a page fills within ~2,500 rows). Probing for 1,000 ids, as
# invoices do, cost PostgreSQL most of an autocomplete keystroke.
FEW = 200


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
    archived_at = db.Column(db.DateTime)  # indexed with the name: name_indexes()
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


def name_indexes(table):
    """Indexes walking active, and archived, rows in list order (name, id): a keyset page or
    an autocomplete reads a few rows. (An index on archived_at alone made SQLite's planner
    fetch every active row and sort them.)"""
    return tuple(db.Index(f"ix_{table}_{kind}_name", "name", "id", sqlite_where=where,
                          postgresql_where=where)
                 for kind, where in (("active", db.text("archived_at IS NULL")),
                                     ("archived", db.text("archived_at IS NOT NULL"))))


class AddressColumns:
    """An optional street address (the SAT only needs the CP; the PDF shows the rest)."""

    street = db.Column(db.String(200))
    exterior = db.Column(db.String(50))
    interior = db.Column(db.String(50))
    colonia = db.Column(db.String(200))
    municipio = db.Column(db.String(200))
    estado = db.Column(db.String(100))


@dataclass
class KeysetPage:
    """A page of a catalog walked by (name, id) from a boundary row's id: no COUNT, no OFFSET."""

    items: list
    has_next: bool
    has_prev: bool = False

    @property
    def next_cursor(self):
        """Cursor of the page after this one: the last row's id."""
        return self.items[-1].id if self.items else None

    @property
    def prev_cursor(self):
        """Cursor of the page before this one: the first row's id."""
        return self.items[0].id if self.items else None


def _matching(model, text, archived=False):
    """A SELECT of model's rows (active or archived) matching every word prefix of text.

    Words go through the full-text index (fulltext.py); None when text holds no searchable
    word at all (only symbols): nothing can match it.
    """
    query = db.select(model).where(model.archived_at.isnot(None) if archived
                                   else model.archived_at.is_(None))
    if not text.strip():
        return query
    words = fulltext.words(text)
    if not words:
        return None
    dialect, index = db.engine.dialect.name, fulltext.CATALOGS[model.__tablename__]
    few = fulltext.few_ids(db.session, dialect, words, index, many=FEW)
    if few is not None:
        return query.where(model.id.in_(few))  # a rare word: fetch those few and sort them
    ids = fulltext.matching_ids(dialect, words, index).columns(sa.column("id", sa.Integer))
    # A common word: walk the rows in name order and keep the matching ones (a page fills
    # within a few hundred rows) instead of fetching and sorting every match. "id + 0" keeps
    # the planner from driving the query by id lookups into the match set.
    return query.where((model.id + 0).in_(ids))


def _position(model, cursor):
    """(name, id) of the row a cursor names, or None (gone, or not an id)."""
    row = db.session.get(model, cursor) if cursor else None
    return None if row is None else (row.name, row.id)


def search(model, text="", after=None, before=None, archived=False, size=PAGE_SIZE):
    """Return a KeysetPage of model rows in name order whose words start with those of text.

    after/before are ids of the rows bounding the page (see KeysetPage); nothing is counted.
    """
    query = _matching(model, text, archived)
    if query is None:
        return KeysetPage(items=[], has_next=False)
    key = sa.tuple_(model.name, model.id)
    before, after = _position(model, before), _position(model, after)
    if before:
        rows = db.session.scalars(query.where(key < before).order_by(
            model.name.desc(), model.id.desc()).limit(size + 1)).all()
        return KeysetPage(items=rows[:size][::-1], has_next=True, has_prev=len(rows) > size)
    if after:
        query = query.where(key > after)
    rows = db.session.scalars(query.order_by(model.name, model.id).limit(size + 1)).all()
    return KeysetPage(items=rows[:size], has_next=len(rows) > size, has_prev=after is not None)


def picklist(model, text, size=10):
    """The first few active rows matching every word of text, for an autocomplete.

    No COUNT and no OFFSET: a keystroke reads the index and at most size + 1 rows.
    """
    return search(model, text, size=size)


def list_page(model, template, fragment):
    """The list view: live search, archived filter and keyset pages from the query string."""
    args = request.args
    text = args.get("q", "")[:100]
    archived = args.get("archivados") == "1"
    results = search(model, text, after=args.get("despues", type=db_int),
                     before=args.get("antes", type=db_int), archived=archived)
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
