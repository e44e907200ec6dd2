"""The large SAT catalogs (files in sat/data/): lookup by key and search by key or words.

Loaded lazily on first use and kept in memory: ~52k product keys, ~2.4k unit keys and
~96k postal codes. Search is accent-insensitive ("computo" finds "Cómputo") and matches
word prefixes, so "consul serv" finds "Servicios de consultoría".
"""
import gzip
import heapq
import json
import re
import threading
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
_WORD = re.compile(r"[a-z0-9]+")


def fold(text):
    """Lowercase and strip accents: the form every search compares in."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


@dataclass(frozen=True)
class Entry:
    """One catalog row: its key, description and any extra columns."""

    key: str
    description: str
    extra: tuple = ()


class Catalog:
    """A keyed catalog with prefix search over keys and description words."""

    def __init__(self, filename):
        self.filename = filename
        self._lock = threading.Lock()
        self._loaded = False

    def _load(self):
        with self._lock:
            if self._loaded:
                return
            entries, words = [], {}
            with gzip.open(DATA / self.filename, "rt", encoding="utf-8") as fh:
                for line in fh:
                    key, description, *extra = line.rstrip("\n").split("\t")
                    entries.append(Entry(key, description, tuple(extra)))
            entries.sort(key=lambda e: e.key)
            # Results are shown shortest description first: the most generic match.
            order = sorted(range(len(entries)), key=lambda i: (len(entries[i].description), i))
            rank = [0] * len(entries)
            for position, index in enumerate(order):
                rank[index] = position
            folded = [fold(e.description) for e in entries]
            for index in order:
                for word in set(_WORD.findall(folded[index])):
                    words.setdefault(word, []).append(index)
            self._entries = entries
            self._folded = folded
            self._rank = rank
            self._by_key = {e.key: e for e in entries}
            self._keys = [e.key for e in entries]
            self._words = sorted(words)
            self._postings = [words[w] for w in self._words]  # each in rank order
            self._loaded = True

    def __len__(self):
        self._load()
        return len(self._entries)

    def get(self, key):
        """Return the Entry for key, or None."""
        self._load()
        return self._by_key.get((key or "").strip().upper())

    def search(self, query, limit=20):
        """Return up to limit entries whose key starts with query or whose words do."""
        self._load()
        folded = fold(query).strip()
        if not folded:
            return []
        found = self._by_key_prefix(folded.upper(), limit)
        if len(found) < limit:
            seen = {e.key for e in found}
            found += [e for e in self._by_words(folded, limit) if e.key not in seen]
        return found[:limit]

    def _by_key_prefix(self, prefix, limit):
        start = bisect_left(self._keys, prefix)
        out = []
        for entry in self._entries[start:start + limit]:
            if not entry.key.startswith(prefix):
                break
            out.append(entry)
        return out

    def _word_range(self, token):
        """Return (lo, hi) of the words matching token in the sorted word list.

        A token of 1–2 letters matches whole words only: as a prefix it would match most
        of the catalog and cost more than the 10 ms budget. A longer token that matches
        nothing is shortened down to 5 letters, a poor man's stemming ("computo" →
        "comput" finds "computadores").
        """
        if len(token) <= 2:
            index = bisect_left(self._words, token)
            found = index < len(self._words) and self._words[index] == token
            return (index, index + 1) if found else (index, index), token
        while True:
            lo = bisect_left(self._words, token)
            hi = bisect_left(self._words, token + "\x7f")
            if hi > lo or len(token) <= 5:
                return (lo, hi), token
            token = token[:-1]

    def _by_words(self, folded, limit):
        tokens = sorted(set(_WORD.findall(folded)), key=len, reverse=True)
        if not tokens:
            return []
        # Candidates come from the longest token (the most selective); the other tokens
        # only filter them, which is cheaper than building their (large) posting sets.
        (lo, hi), _ = self._word_range(tokens[0])
        if hi - lo == 1 and len(tokens) == 1:
            return [self._entries[i] for i in self._postings[lo][:limit]]  # in rank order
        else:
            candidates = set()
            for posting in self._postings[lo:hi]:
                candidates.update(posting)
        for token in tokens[1:]:
            (lo, hi), stem = self._word_range(token)
            if hi == lo:
                return []
            pattern = re.compile(r"\b" + re.escape(stem) + (r"\b" if len(stem) <= 2 else ""))
            candidates = [i for i in candidates if pattern.search(self._folded[i])]
        best = heapq.nsmallest(limit, candidates, key=self._rank.__getitem__)
        return [self._entries[i] for i in best]


PRODUCTOS = Catalog("clave_prod_serv.tsv.gz")
UNIDADES = Catalog("clave_unidad.tsv.gz")
CODIGOS_POSTALES = Catalog("codigo_postal.tsv.gz")
MONEDAS = Catalog("moneda.tsv.gz")


def postal_code(cp):
    """Return (estado name, municipio code, frontera flag) for a CP, or None."""
    entry = CODIGOS_POSTALES.get(cp)
    if entry is None:
        return None
    return entry.extra[0], entry.extra[1], entry.extra[2] == "1"


def currency_decimals(code):
    """Decimals the SAT allows for a currency at comprobante level (§7.6)."""
    entry = MONEDAS.get(code)
    return int(entry.extra[0]) if entry else None


def source():
    """Where and when the catalog files came from."""
    return json.loads((DATA / "source.json").read_text(encoding="utf-8"))
