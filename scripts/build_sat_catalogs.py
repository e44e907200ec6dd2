"""Regenerate apunto_fact/sat/data/ from the SAT catalogs shipped in the satcfdi wheel.

Run: ``make sat-catalogs`` (or ``python scripts/build_sat_catalogs.py``). Needs PyPI once;
the app itself never downloads anything.

Source: satcfdi's ``catalogs/catalogs.db`` (MIT), a SQLite file whose keys and values are
pickled. Unpickling runs code, so the wheel is pinned by version *and* SHA-256.
Small CFDI 4.0 catalogs with física/moral flags and the UsoCFDI↔régimen matrix are not in
that file; they live in apunto_fact/sat/catalogs.py (from phpcfdi, cfdi40-rules.md §4–§11).
"""
import datetime
import gzip
import hashlib
import json
import pickle
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE, VERSION = "satcfdi", "26.10.1"
SHA256 = "119a59502dde9e3126750417ddf412c82ae6143e8509b4b148da513d98c7d112"
OUT = Path(__file__).resolve().parent.parent / "apunto_fact" / "sat" / "data"


def fetch_wheel(folder):
    """Download the pinned wheel and check its hash."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    f"{PACKAGE}=={VERSION}", "-d", str(folder)], check=True)
    wheel = next(Path(folder).glob(f"{PACKAGE}-{VERSION}-*.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"SHA-256 mismatch for {wheel.name}: {digest}")
    return wheel


def rows(db, table):
    """Yield (key, value) pairs of one satcfdi catalog table, unpickled."""
    for key, value in db.execute(f"SELECT key, value FROM {table}"):
        yield pickle.loads(key), pickle.loads(value)  # noqa: S301 - hash-pinned source


def write_tsv(name, records):
    """Write records as gzip TSV (deterministic: no timestamp in the gzip header)."""
    lines = "".join("\t".join(str(f) for f in r) + "\n" for r in sorted(records))
    with open(OUT / name, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(lines.encode("utf-8"))
    return lines.count("\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(tmp)
        with zipfile.ZipFile(wheel) as zf:
            zf.extract("satcfdi/catalogs/catalogs.db", tmp)
            info = zf.getinfo("satcfdi/catalogs/catalogs.db")
        db = sqlite3.connect(Path(tmp) / "satcfdi/catalogs/catalogs.db")
        states = {k: v[1] for k, v in rows(db, "C756_c_Estado") if v[0] == "MEX"}
        counts = {
            "clave_prod_serv": write_tsv("clave_prod_serv.tsv.gz", rows(db, "C756_c_ClaveProdServ")),
            "clave_unidad": write_tsv("clave_unidad.tsv.gz", rows(db, "C756_c_ClaveUnidad")),
            "codigo_postal": write_tsv("codigo_postal.tsv.gz", (
                (cp, v[0], states.get(v[0], v[0]), v[1], v[3], v[4])
                for cp, v in rows(db, "C756_c_CodigoPostal"))),
            "moneda": write_tsv("moneda.tsv.gz", ((k, v[0], v[1])
                                                   for k, v in rows(db, "C756_c_Moneda"))),
        }
    source = {
        "source": f"PyPI {PACKAGE}=={VERSION}, satcfdi/catalogs/catalogs.db",
        "wheel_sha256": SHA256,
        "catalogs_db_date": "%04d-%02d-%02d" % info.date_time[:3],
        "generated": datetime.date.today().isoformat(),
        "counts": counts,
    }
    (OUT / "source.json").write_text(json.dumps(source, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(source, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
