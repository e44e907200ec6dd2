"""The sandbox's own persistent state: JSON documents in a SQLite file."""
import json
import sqlite3
import threading

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, content BLOB NOT NULL);
"""


class Store:
    """A tiny document store; one lock serialises access (the sandbox is low-traffic)."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(SCHEMA)

    def close(self):
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def meta(self, key, default=None):
        """Return a stored meta value."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key, value):
        """Store a meta value."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def insert(self, kind, body):
        """Insert body under the next id of kind; return the stored document."""
        with self._lock:
            (last,) = self._conn.execute(
                "SELECT COALESCE(MAX(id), 0) FROM docs WHERE kind=?", (kind,)).fetchone()
            body = {**body, "id": str(last + 1)}
            self._conn.execute("INSERT INTO docs VALUES (?, ?, ?)",
                               (kind, last + 1, json.dumps(body, ensure_ascii=False)))
            return body

    def put(self, kind, body):
        """Replace the document with body['id']."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO docs VALUES (?, ?, ?)",
                               (kind, int(body["id"]), json.dumps(body, ensure_ascii=False)))
        return body

    def get(self, kind, doc_id):
        """Return one document or None."""
        try:
            key = int(str(doc_id))
        except ValueError:
            return None
        with self._lock:
            row = self._conn.execute("SELECT body FROM docs WHERE kind=? AND id=?",
                                     (kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def all(self, kind):
        """Return every document of kind in id order."""
        with self._lock:
            rows = self._conn.execute("SELECT body FROM docs WHERE kind=? ORDER BY id",
                                      (kind,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, kind):
        """Return how many documents of kind exist."""
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM docs WHERE kind=?",
                                      (kind,)).fetchone()[0]

    def put_file(self, name, content):
        """Store a generated document."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO files VALUES (?, ?)", (name, content))

    def file(self, name):
        """Return a stored document's bytes, or None."""
        with self._lock:
            row = self._conn.execute("SELECT content FROM files WHERE name=?",
                                     (name,)).fetchone()
        return bytes(row[0]) if row else None
