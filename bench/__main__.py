"""Run every benchmark, print a markdown table and write bench/RESULTS.md."""
import datetime
import os
import sys
import tempfile

from . import alegra_cost
from . import catalog_search
from . import memory
from . import pages
from . import startup
from .common import machine
from .harness import signed_in_client

HERE = os.path.dirname(os.path.abspath(__file__))


def table(rows):
    """Render result rows as a markdown table."""
    lines = ["| Medición | Resultado | Meta | ¿Cumple? |", "|---|---|---|---|"]
    for row in rows:
        verdict = "—" if row["ok"] is None else ("sí" if row["ok"] else "**no**")
        lines.append(f"| {row['what']} | {row['value']} | {row['target']} | {verdict} |")
    return "\n".join(lines)


def main():
    rows = []
    rows += startup.run()
    with tempfile.TemporaryDirectory() as tmp:
        app, client = signed_in_client(tmp)
        with app.app_context():
            rows += catalog_search.run(client)
    rows += pages.run()
    rows += alegra_cost.requests_per_invoice()
    rows += alegra_cost.bulk()
    rows += memory.run()
    report = table(rows)
    print(report)
    header = (f"# Resultados de `make bench`\n\nMáquina: {machine()}\n\n"
              f"Fecha: {datetime.date.today().isoformat()}\n\n")
    with open(os.path.join(HERE, "RESULTS.md"), "w", encoding="utf-8") as fh:
        fh.write(header + report + "\n" + NOTES)
    return 0 if all(r["ok"] is not False for r in rows) else 1


NOTES = """
## Notas

- Búsqueda en catálogos: índice en memoria de prefijos de palabras (sin acentos) y de claves,
  cargado la primera vez que se usa (`apunto_fact/sat/search.py`). Las consultas de 1–2 letras
  buscan palabras completas para no recorrer medio catálogo.
- El arranque en frío mide `create_app()` en un proceso nuevo; los catálogos grandes no se
  cargan al arrancar sino con la primera búsqueda.
"""

if __name__ == "__main__":
    sys.exit(main())
