"""Invoice full-text search: serie-folio, UUID, customer name and RFC in the database's index.

SQLite keeps an FTS5 table and PostgreSQL a tsvector table with a GIN index; triggers on
invoices and customers keep either in step with every write, including bulk and raw SQL ones.
Both match word prefixes, so a query costs the same at 1k and at 1M invoices.
"""
import re

from sqlalchemy import text

from .sat.search import fold

TABLE = "invoice_search"
MAX_WORDS = 6
# Beyond this many matches, walking the invoices newest first and probing the match set
# finds a page sooner than fetching and sorting every match.
MANY = 1000

# Serie+folio together (A152) and the folio alone (152); the UUID's dashes become spaces so
# each group is a word; then the customer's folded name and RFC.
_SQLITE_BODY = ("lower(coalesce({i}.serie, '') || coalesce({i}.folio, '') || ' ' || "
                "coalesce({i}.folio, '') || ' ' || replace(coalesce({i}.uuid, ''), '-', ' ') "
                "|| ' ' || coalesce((SELECT search_text FROM customers "
                "WHERE customers.id = {i}.customer_id), ''))")

SQLITE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
    "body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_ai AFTER INSERT ON invoices BEGIN "
    f"INSERT INTO {TABLE}(rowid, body) VALUES (NEW.id, {_SQLITE_BODY.format(i='NEW')}); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_au AFTER UPDATE OF customer_id, serie, folio, uuid "
    f"ON invoices BEGIN DELETE FROM {TABLE} WHERE rowid = OLD.id; "
    f"INSERT INTO {TABLE}(rowid, body) VALUES (NEW.id, {_SQLITE_BODY.format(i='NEW')}); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_ad AFTER DELETE ON invoices BEGIN "
    f"DELETE FROM {TABLE} WHERE rowid = OLD.id; END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_cu AFTER UPDATE OF search_text ON customers BEGIN "
    f"DELETE FROM {TABLE} WHERE rowid IN (SELECT id FROM invoices WHERE customer_id = NEW.id); "
    f"INSERT INTO {TABLE}(rowid, body) SELECT inv.id, {_SQLITE_BODY.format(i='inv')} "
    f"FROM invoices AS inv WHERE inv.customer_id = NEW.id; END",
]

_PG_DOCUMENT = ("to_tsvector('simple', regexp_replace(lower(concat_ws(' ', "
                "coalesce({i}.serie, '') || coalesce({i}.folio, ''), {i}.folio, {i}.uuid, "
                "{c}.search_text)), '[^0-9a-z]+', ' ', 'g'))")

POSTGRESQL = [
    # No foreign key: the triggers remove rows, and dropping invoices is never blocked.
    f"CREATE TABLE IF NOT EXISTS {TABLE} (invoice_id integer PRIMARY KEY, "
    "document tsvector NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_document ON {TABLE} USING gin (document)",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        DELETE FROM {TABLE} WHERE invoice_id = OLD.id;
        RETURN NULL;
      END IF;
      INSERT INTO {TABLE}(invoice_id, document)
      SELECT NEW.id, {_PG_DOCUMENT.format(i='NEW', c='c')}
      FROM (SELECT 1) AS one LEFT JOIN customers AS c ON c.id = NEW.customer_id
      ON CONFLICT (invoice_id) DO UPDATE SET document = EXCLUDED.document;
      RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION {TABLE}_customer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE {TABLE} SET document = {_PG_DOCUMENT.format(i='inv', c='NEW')}
      FROM invoices AS inv WHERE inv.id = {TABLE}.invoice_id AND inv.customer_id = NEW.id;
      RETURN NULL;
    END $$""",
    f"DROP TRIGGER IF EXISTS {TABLE}_invoice ON invoices",
    f"CREATE TRIGGER {TABLE}_invoice AFTER INSERT OR DELETE OR UPDATE OF customer_id, serie, "
    f"folio, uuid ON invoices FOR EACH ROW EXECUTE FUNCTION {TABLE}_invoice()",
    f"DROP TRIGGER IF EXISTS {TABLE}_customer ON customers",
    f"CREATE TRIGGER {TABLE}_customer AFTER UPDATE OF search_text ON customers "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_customer()",
]

DROP = {
    "sqlite": [f"DROP TRIGGER IF EXISTS {TABLE}_{t}" for t in ("ai", "au", "ad", "cu")]
    + [f"DROP TABLE IF EXISTS {TABLE}"],
    "postgresql": [f"DROP TRIGGER IF EXISTS {TABLE}_invoice ON invoices",
                   f"DROP TRIGGER IF EXISTS {TABLE}_customer ON customers",
                   f"DROP TABLE IF EXISTS {TABLE}",
                   f"DROP FUNCTION IF EXISTS {TABLE}_invoice()",
                   f"DROP FUNCTION IF EXISTS {TABLE}_customer()"],
}


def install(connection):
    """Create the index and its triggers (idempotent) and index every existing invoice.

    A later migration that rebuilds invoices or customers on SQLite (batch_alter_table)
    drops their triggers: it must call install() again.
    """
    dialect = connection.dialect.name
    for statement in SQLITE if dialect == "sqlite" else POSTGRESQL:
        connection.execute(text(statement))
    rebuild(connection)


def rebuild(connection):
    """Re-index every invoice from scratch."""
    if connection.dialect.name == "sqlite":
        connection.execute(text(f"DELETE FROM {TABLE}"))
        connection.execute(text(f"INSERT INTO {TABLE}(rowid, body) SELECT inv.id, "
                                f"{_SQLITE_BODY.format(i='inv')} FROM invoices AS inv"))
    else:
        connection.execute(text(f"DELETE FROM {TABLE}"))
        connection.execute(text(
            f"INSERT INTO {TABLE}(invoice_id, document) SELECT inv.id, "
            f"{_PG_DOCUMENT.format(i='inv', c='c')} FROM invoices AS inv "
            "LEFT JOIN customers AS c ON c.id = inv.customer_id"))


def uninstall(connection):
    """Remove the index and its triggers."""
    for statement in DROP.get(connection.dialect.name, []):
        connection.execute(text(statement))


def words(query):
    """The searchable words of what the user typed: folded, alphanumeric, at most a few."""
    # A word typed twice adds nothing to the match but doubles its cost.
    return list(dict.fromkeys(re.findall(r"[0-9a-z]+", fold(query))))[:MAX_WORDS]


def _match(dialect, query_words):
    """SQL selecting the ids of invoices matching every word prefix, and its parameter."""
    if dialect == "sqlite":
        return (f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH :fts",
                " ".join(f'"{w}"*' for w in query_words))
    return (f"SELECT invoice_id FROM {TABLE} WHERE document @@ to_tsquery('simple', :fts)",
            " & ".join(f"{w}:*" for w in query_words))


def matching_ids(dialect, query_words):
    """A SELECT of the invoice ids whose index holds a word starting with each of query_words."""
    sql, expression = _match(dialect, query_words)
    return text(sql).bindparams(fts=expression)


def few_ids(session, dialect, query_words):
    """The matching ids when fewer than MANY match (reading stops there), else None."""
    sql, expression = _match(dialect, query_words)
    ids = session.execute(text(f"{sql} LIMIT {int(MANY)}"), {"fts": expression}).scalars().all()
    return ids if len(ids) < MANY else None


def is_index_table(name):
    """True for the search tables (FTS5 adds shadow tables): not part of the models."""
    return name == TABLE or name.startswith(TABLE + "_")


def include_name(name, type_, parent_names):
    """Alembic filter: leave the search tables out of autogenerate and model comparisons."""
    return not (type_ == "table" and is_index_table(name))
