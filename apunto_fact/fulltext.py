"""Full-text search in the database's own index: invoices, customers and products.

Invoices: serie-folio, UUID, customer name and RFC. Customers and products: their folded
search_text column (name and RFC; name, SKU and product key). SQLite keeps FTS5 tables and
PostgreSQL tsvector tables with a GIN index; triggers keep either in step with every write,
including bulk and raw SQL ones. Both match word prefixes, so a query costs the same at 1k and
at 1M rows.
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


# -- customers and products ------------------------------------------------------------------
# Each catalog table's index holds its search_text column (already folded by the app, the
# same form words() gives the query), keyed by the row's id.
CATALOGS = {"customers": "customer_search", "products": "product_search"}


def _catalog_sqlite(table, index):
    return [
        # A one-letter prefix index too: the product autocomplete starts at one letter.
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {index} USING fts5("
        "body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3')",
        f"CREATE TRIGGER IF NOT EXISTS {index}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {index}(rowid, body) VALUES (NEW.id, NEW.search_text); END",
        f"CREATE TRIGGER IF NOT EXISTS {index}_au AFTER UPDATE OF id, search_text ON {table} "
        f"BEGIN DELETE FROM {index} WHERE rowid = OLD.id; "
        f"INSERT INTO {index}(rowid, body) VALUES (NEW.id, NEW.search_text); END",
        f"CREATE TRIGGER IF NOT EXISTS {index}_ad AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {index} WHERE rowid = OLD.id; END",
    ]


_PG_CATALOG_DOCUMENT = ("to_tsvector('simple', regexp_replace(lower(coalesce({v}, '')), "
                        "'[^0-9a-z]+', ' ', 'g'))")


def _catalog_postgresql(table, index):
    return [
        f"CREATE TABLE IF NOT EXISTS {index} (row_id integer PRIMARY KEY, "
        "document tsvector NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS ix_{index}_document ON {index} USING gin (document)",
        f"""CREATE OR REPLACE FUNCTION {index}_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' THEN
            DELETE FROM {index} WHERE row_id = OLD.id;
          END IF;
          IF TG_OP <> 'DELETE' THEN
            INSERT INTO {index}(row_id, document)
            VALUES (NEW.id, {_PG_CATALOG_DOCUMENT.format(v='NEW.search_text')});
          END IF;
          RETURN NULL;
        END $$""",
        f"DROP TRIGGER IF EXISTS {index}_row ON {table}",
        f"CREATE TRIGGER {index}_row AFTER INSERT OR DELETE OR UPDATE OF id, search_text "
        f"ON {table} FOR EACH ROW EXECUTE FUNCTION {index}_row()",
    ]


def install_catalogs(connection):
    """Create the customer and product indexes and triggers; index every existing row."""
    sqlite = connection.dialect.name == "sqlite"
    for table, index in CATALOGS.items():
        build = _catalog_sqlite if sqlite else _catalog_postgresql
        for statement in build(table, index):
            connection.execute(text(statement))
        connection.execute(text(f"DELETE FROM {index}"))
        if sqlite:
            connection.execute(text(f"INSERT INTO {index}(rowid, body) "
                                    f"SELECT id, search_text FROM {table}"))
        else:
            connection.execute(text(
                f"INSERT INTO {index}(row_id, document) SELECT id, "
                f"{_PG_CATALOG_DOCUMENT.format(v='search_text')} FROM {table}"))


def uninstall_catalogs(connection):
    """Remove the customer and product indexes and their triggers."""
    for table, index in CATALOGS.items():
        if connection.dialect.name == "sqlite":
            statements = [f"DROP TRIGGER IF EXISTS {index}_{t}" for t in ("ai", "au", "ad")]
        else:
            statements = [f"DROP TRIGGER IF EXISTS {index}_row ON {table}",
                          f"DROP FUNCTION IF EXISTS {index}_row()"]
        for statement in statements + [f"DROP TABLE IF EXISTS {index}"]:
            connection.execute(text(statement))


def words(query):
    """The searchable words of what the user typed: folded, alphanumeric, at most a few."""
    # A word typed twice adds nothing to the match but doubles its cost.
    return list(dict.fromkeys(re.findall(r"[0-9a-z]+", fold(query))))[:MAX_WORDS]


def _match(dialect, query_words, index=TABLE):
    """SQL selecting the ids of rows matching every word prefix, and its parameter.

    query_words come from words(): only [0-9a-z], so no FTS syntax can reach the engine.
    """
    if dialect == "sqlite":
        return (f"SELECT rowid FROM {index} WHERE {index} MATCH :fts",
                " ".join(f'"{w}"*' for w in query_words))
    key = "invoice_id" if index == TABLE else "row_id"
    return (f"SELECT {key} FROM {index} WHERE document @@ to_tsquery('simple', :fts)",
            " & ".join(f"{w}:*" for w in query_words))


def matching_ids(dialect, query_words, index=TABLE):
    """A SELECT of the ids whose index holds a word starting with each of query_words."""
    sql, expression = _match(dialect, query_words, index)
    return text(sql).bindparams(fts=expression)


def few_ids(session, dialect, query_words, index=TABLE, many=None):
    """The matching ids when fewer than many (MANY) match (reading stops there), else None."""
    many = MANY if many is None else many
    sql, expression = _match(dialect, query_words, index)
    ids = session.execute(text(f"{sql} LIMIT {int(many)}"), {"fts": expression}).scalars().all()
    return ids if len(ids) < many else None


def is_index_table(name):
    """True for the search tables (FTS5 adds shadow tables): not part of the models."""
    return any(name == t or name.startswith(t + "_") for t in (TABLE, *CATALOGS.values()))


def include_name(name, type_, parent_names):
    """Alembic filter: leave the search tables out of autogenerate and model comparisons."""
    return not (type_ == "table" and is_index_table(name))
