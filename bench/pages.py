"""Page latency through the real HTTP server with 1, 10 and 50 concurrent users.

Datasets of 1k and 100k invoices (1M with BENCH_1M=1), customers and products growing with
them, on SQLite and on PostgreSQL (when the machine has it). Each (page, users) pair is run
REPEATS times; the tables give the median of the runs and the spread of their p95.
"""
import os
import shutil
import statistics
import subprocess
import time

from sqlalchemy import text

from .common import percentile
from .dataset import WORDS
from .dataset import populate
from .dataset import sizes
from .harness import signed_in_client
from .http import Server
from .http import load

HERE = os.path.dirname(os.path.abspath(__file__))
USERS = (1, 10, 50)
SAMPLES = {1: 150, 10: 300, 50: 500}
# Each user pauses 0.1–0.5 s after every answer: far quicker than a person reading a page
# (seconds), about a typist's pace in the autocomplete. 10 such users send ~30 requests/s.
THINK = (0.1, 0.5)
# Generated datasets are kept here between runs (BENCH_DATA moves them).
DATA = os.environ.get("BENCH_DATA", os.path.join(HERE, ".data"))
WARMUP = 20
REPEATS = int(os.environ.get("BENCH_REPEATS", "2"))
TARGET_P95_MS = 150.0
TARGET_USERS = 10
TARGET_SIZE = 100_000
TARGET_RATIO = 2.0
RATIO_PAGES = ("Facturas de un cliente", "Facturas: página profunda")
HTMX = {"HX-Request": "true"}


def dataset_sizes():
    """Invoice counts to measure: BENCH_SIZES=1000,100000 and BENCH_1M=1 adds a million."""
    chosen = [int(n) for n in os.environ.get("BENCH_SIZES", "1000,100000").split(",")]
    if os.environ.get("BENCH_1M") == "1" and 1_000_000 not in chosen:
        chosen.append(1_000_000)
    return chosen


def engines():
    """SQLite always; PostgreSQL when Debian's server is installed (BENCH_ENGINES narrows)."""
    wanted = os.environ.get("BENCH_ENGINES", "sqlite,postgresql").split(",")
    found = ["sqlite"] if "sqlite" in wanted else []
    if "postgresql" in wanted and _postgres_url("probe") is not None:
        found.append("postgresql")
    return found


def _postgres_url(name, fresh=False):
    prefix = os.environ.get("BENCH_PG_PREFIX", "apunto_bench")
    args = ["bash", os.path.join(HERE, "..", "scripts", "postgres-db.sh"), f"{prefix}_{name}"]
    result = subprocess.run(args + (["--fresh"] if fresh else []), capture_output=True,
                            text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def _parameters(app, invoices):
    """Real values to put in the URLs: customers with invoices, deep cursors, search words."""
    from apunto_fact.extensions import db
    with app.app_context():
        run = db.session.execute
        customers = [r[0] for r in run(text(
            "SELECT DISTINCT customer_id FROM invoices WHERE id % 7 = 0 LIMIT 300"))]
        rfcs = [r[0] for r in run(text("SELECT rfc FROM customers WHERE id % 11 = 0 LIMIT 200"))]
        uuids = [r[0] for r in run(text(
            "SELECT uuid FROM invoices WHERE uuid IS NOT NULL AND id % 13 = 0 LIMIT 200"))]
        folios = [f"A{r[0]}" for r in run(text(
            "SELECT folio FROM invoices WHERE folio IS NOT NULL AND id % 17 = 0 LIMIT 200"))]
        cursors = []
        for share in range(40, 91, 5):
            row = run(text("SELECT date, id FROM invoices ORDER BY date DESC, id DESC "
                           "LIMIT 1 OFFSET :skip"), {"skip": invoices * share // 100}).first()
            day = row[0] if isinstance(row[0], str) else row[0].isoformat()
            cursors.append(f"{day}.{row[1]}")
        ids = [r[0] for r in run(text("SELECT id FROM invoices WHERE id % 19 = 0 LIMIT 300"))]
        db.session.remove()
    words = [w.lower() for w in WORDS]
    searches = words + [" ".join(p) for p in zip(words, reversed(words))] + \
        [r[:8].lower() for r in rfcs[:50]] + folios[:50] + [u[:8] for u in uuids[:50]]
    prefixes = [w[:n] for w in words for n in (2, 3, 5)] + [r[:6] for r in rfcs[:50]]
    # Product names are "Servicio 01234": the word, a code prefix, the SAT key.
    products = ["s", "se", "serv", "servicio", "8010"] + [f"servicio+{n:03d}" for n in range(60)]
    return {"customers": customers, "cursors": cursors, "searches": searches,
            "prefixes": prefixes, "words": words, "ids": ids, "products": products}


def _pages(p):
    """(name, url maker, extra headers): what a bookkeeper opens and types at month end."""
    return [
        ("Facturas: primera página", lambda r: "/facturas/", None),
        ("Facturas: timbradas", lambda r: "/facturas/?estado=stamped", HTMX),
        ("Facturas de un cliente", lambda r: f"/facturas/?cliente={r.choice(p['customers'])}",
         HTMX),
        ("Facturas: página profunda", lambda r: f"/facturas/?despues={r.choice(p['cursors'])}",
         HTMX),
        ("Facturas: búsqueda (nombre, RFC, serie-folio, UUID)",
         lambda r: f"/facturas/?q={r.choice(p['searches']).replace(' ', '+')}", HTMX),
        ("Autocompletado de clientes",
         lambda r: f"/facturas/buscar-cliente?cliente_q={r.choice(p['prefixes'])}", HTMX),
        ("Autocompletado de productos",
         lambda r: f"/facturas/buscar-producto?producto_q={r.choice(p['products'])}", HTMX),
        ("Clientes: búsqueda", lambda r: f"/clientes/?q={r.choice(p['words'])}", HTMX),
        ("Detalle de factura", lambda r: f"/facturas/{r.choice(p['ids'])}", None),
    ]


def _dataset(engine, invoices):
    """(app, instance folder, database URL, seconds to build or None): kept in DATA.

    A million invoices take many minutes to generate, so each dataset lives in its own
    folder (and PostgreSQL database) and later runs migrate it to the current schema — which
    also exercises the migrations on big tables — instead of building it again.
    """
    folder = os.path.join(DATA, f"{engine}-{invoices}")
    done = os.path.join(folder, "complete")
    kept = os.path.exists(done)
    if not kept:
        shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    url = _postgres_url(f"{invoices}", fresh=not kept) if engine == "postgresql" else None
    config = {"SQLALCHEMY_DATABASE_URI": url} if url else {}
    app, _ = signed_in_client(folder, **config)
    from apunto_fact.extensions import db
    started, built = time.monotonic(), None
    with app.app_context():
        have = db.session.execute(text("SELECT count(*) FROM invoices")).scalar()
        if have != invoices:
            if have:
                raise RuntimeError(f"{folder}: {have} facturas en vez de {invoices}; bórralo")
            populate(invoices=invoices)
            built = time.monotonic() - started
        db.session.remove()
        db.engine.dispose()
    with open(done, "w", encoding="utf-8") as fh:
        fh.write(f"{invoices}\n")
    return app, folder, url, built


def measure(engine, invoices):
    """Return ({(page, users): stats}, seconds to build the dataset or None if it was kept)."""
    app, folder, url, built = _dataset(engine, invoices)
    params = _parameters(app, invoices)
    results = {}
    with Server(folder, url) as server:
        # BENCH_PAGES=autocompletado,clientes measures only pages naming one of these.
        only = [w for w in os.environ.get("BENCH_PAGES", "").lower().split(",") if w]
        for name, make_url, headers in _pages(params):
            if only and not any(w in name.lower() for w in only):
                continue
            if invoices >= 1_000_000 and name not in RATIO_PAGES + ("Facturas: primera página",):
                continue  # the million is for the flatness ratio (and a first look), not all pages
            load(server, make_url, 4, WARMUP, headers)
            for users in USERS:
                runs = []
                for repeat in range(REPEATS):
                    # One user alone: back to back (a pause would not change its latency).
                    think = THINK if users > 1 else None
                    samples, errors, seconds = load(server, make_url, users, SAMPLES[users],
                                                    headers, seed=repeat, think=think)
                    runs.append({"p50": statistics.median(samples),
                                 "p95": percentile(samples, 95),
                                 "p99": percentile(samples, 99),
                                 "rps": len(samples) / seconds, "errors": errors})
                results[(name, users)] = _combine(runs)
                print(f"  {engine} {invoices:>9,} {name[:40]:<40} {users:>2} usuarios: "
                      f"p95 {results[(name, users)]['p95']:.1f} ms", flush=True)
    return results, built


def _combine(runs):
    """Median of each figure over the runs, plus the lowest and highest p95."""
    combined = {key: statistics.median(r[key] for r in runs) for key in ("p50", "p95", "p99",
                                                                        "rps")}
    combined.update(p95_min=min(r["p95"] for r in runs), p95_max=max(r["p95"] for r in runs),
                    errors=sum(r["errors"] for r in runs), runs=len(runs))
    return combined


def run():
    """Measure every engine and size; return (markdown section, all targets met)."""
    lines, verdicts = [], []
    for engine in engines():
        by_size, built = {}, {}
        for invoices in dataset_sizes():
            print(f"Datos: {engine}, {invoices:,} facturas…", flush=True)
            by_size[invoices], built[invoices] = measure(engine, invoices)
        section, ok = _report(engine, by_size, built)
        lines.append(section)
        verdicts += ok
    return "\n".join(lines), all(verdicts)


def _report(engine, by_size, built):
    title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[engine]
    out = [f"\n### {title}\n"]
    for invoices, seconds in built.items():
        grown = sizes(invoices)
        how = f"datos generados en {seconds:.0f} s" if seconds is not None else \
            "datos de una corrida anterior, migrados al esquema actual"
        out.append(f"- {invoices:,} facturas, {grown['customers']:,} clientes, "
                   f"{grown['products']:,} productos: {how}")
    out += ["", "| Página | Facturas | Usuarios | p50 ms | p95 ms | p99 ms | p95 mín–máx "
            f"({REPEATS} corridas) | sol./s | errores | Meta |", "|---|---|---|---|---|---|---|---|---|---|"]
    verdicts = []
    pages = list(dict.fromkeys(name for stats in by_size.values() for name, _ in stats))
    for name in pages:
        for invoices, stats in by_size.items():
            for users in USERS:
                if (name, users) not in stats:
                    continue
                s = stats[(name, users)]
                target = ""
                if invoices == TARGET_SIZE and users == TARGET_USERS:
                    ok = s["p95"] < TARGET_P95_MS and s["errors"] == 0
                    verdicts.append(ok)
                    target = f"p95 < {TARGET_P95_MS:g}: {'sí' if ok else '**no**'}"
                out.append(f"| {name} | {invoices:,} | {users} | {s['p50']:.1f} | {s['p95']:.1f}"
                           f" | {s['p99']:.1f} | {s['p95_min']:.1f}–{s['p95_max']:.1f} | "
                           f"{s['rps']:.0f} | {s['errors']} | {target} |")
    smallest = min(by_size)
    largest = max(by_size)
    if largest != smallest:
        out += ["", f"Razón de p95 {largest:,} / {smallest:,} facturas con {TARGET_USERS} usuarios:",
                "", "| Página | p95 chico | p95 grande | Razón | Meta |", "|---|---|---|---|---|"]
        for name in pages:
            if (name, TARGET_USERS) not in by_size[largest]:
                continue
            small = by_size[smallest][(name, TARGET_USERS)]["p95"]
            large = by_size[largest][(name, TARGET_USERS)]["p95"]
            ratio = large / small
            target = ""
            if name in RATIO_PAGES and largest >= 1_000_000:
                ok = ratio <= TARGET_RATIO
                verdicts.append(ok)
                target = f"≤ {TARGET_RATIO:g}: {'sí' if ok else '**no**'}"
            out.append(f"| {name} | {small:.1f} | {large:.1f} | ×{ratio:.2f} | {target} |")
    return "\n".join(out), verdicts
