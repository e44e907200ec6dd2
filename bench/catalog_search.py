"""SAT catalog search latency: the function and the autocomplete endpoint."""
import random

from apunto_fact.sat.search import PRODUCTOS
from apunto_fact.sat.search import UNIDADES
from apunto_fact.sat.search import fold

from .common import summary
from .common import timed

TARGET_P95_MS = 10.0


def queries(seed=7, count=300):
    """Realistic queries: words and word pairs of descriptions, key prefixes, short ones."""
    rng = random.Random(seed)
    entries = [PRODUCTOS.get(k) for k in ("80101500", "43211500", "50202301", "81112101")]
    words = sorted({w for e in PRODUCTOS.search("servicios", limit=200) for w in
                    fold(e.description).split() if len(w) > 3})
    picks = ["consultoria", "computo", "Cómputo", "servicio de limpieza", "agua", "papel",
             "8010", "43", "de", "se", "renta de oficinas", "transporte de carga",
             "software", "mantenimiento", "honorarios medicos"]
    picks += [e.key[:rng.randint(2, 8)] for e in entries]
    while len(picks) < count:
        kind = rng.random()
        if kind < 0.4:
            picks.append(rng.choice(words)[: rng.randint(3, 12)])
        elif kind < 0.7:
            picks.append(" ".join(rng.sample(words, 2)))
        else:
            picks.append(str(rng.randint(10, 95)) + str(rng.randint(0, 999999))[: rng.randint(0, 4)])
    return picks


def run(client=None):
    """Return result rows for the report."""
    load_ms, _ = timed(len, PRODUCTOS)
    load_units_ms, _ = timed(len, UNIDADES)
    samples = [timed(PRODUCTOS.search, q)[0] for q in queries()]
    rows = [{"what": "Catálogo SAT: carga de c_ClaveProdServ (una vez, primer uso)",
             "value": f"{load_ms:.0f} ms", "target": "—", "ok": None},
            {"what": "Catálogo SAT: carga de c_ClaveUnidad", "value": f"{load_units_ms:.0f} ms",
             "target": "—", "ok": None}]
    stats = summary(samples)
    rows.append({"what": f"Búsqueda en c_ClaveProdServ, función ({stats['n']} consultas) p50/p95/máx",
                 "value": f"{stats['p50']:.2f} / {stats['p95']:.2f} / {stats['max']:.2f} ms",
                 "target": f"p95 ≤ {TARGET_P95_MS:g} ms", "ok": stats["p95"] <= TARGET_P95_MS})
    if client is not None:
        http = []
        for q in queries(seed=11, count=200):
            ms, response = timed(client.get, "/sat/productos",
                                 query_string={"target": "clave_prod_serv", "clave_prod_serv": q},
                                 headers={"HX-Request": "true"})
            assert response.status_code == 200
            http.append(ms)
        stats = summary(http)
        rows.append({"what": "Autocompletado /sat/productos vía HTTP (cliente de pruebas) p50/p95",
                     "value": f"{stats['p50']:.2f} / {stats['p95']:.2f} ms",
                     "target": f"p95 ≤ {TARGET_P95_MS:g} ms", "ok": stats["p95"] <= TARGET_P95_MS})
    return rows
