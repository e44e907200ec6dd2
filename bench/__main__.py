"""Run every benchmark, print a markdown table and write bench/RESULTS.md."""
import datetime
import os
import sys
import tempfile

from . import alegra_cost
from . import catalog_search
from . import home
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
    rows += home.run()
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
## Antes y después (páginas con 100k facturas)

Primera medición, antes de corregir (mismo equipo, 60 solicitudes por página):

| Página | p95 con 1k | p95 con 100k | Razón |
|---|---|---|---|
| Lista de facturas | 4.6 ms | 10.1 ms | ×2.2 |
| Lista filtrada (timbradas, por cliente) | 5.3 ms | 168.0 ms | ×31.7 |
| Búsqueda de clientes | 14.0 ms | 13.8 ms | ×0.99 |
| Detalle de factura | 6.8 ms | 6.8 ms | ×1.0 |

Causas y arreglos: el índice por `status` (85 % de las filas) obligaba a ordenar todas las
facturas timbradas; ahora un índice `(status, date)` recorre en orden de fecha y se detiene al
llenar la página. `paginate` contaba la tabla entera en cada página; las listas que solo crecen
(facturas, bitácora) leen una fila de más para saber si hay otra página. Y la búsqueda por
cliente ya no une la tabla de clientes dos veces.

## Notas

- Búsqueda en catálogos: índice en memoria de prefijos de palabras (sin acentos) y de claves,
  cargado la primera vez que se usa (`apunto_fact/sat/search.py`). Las consultas de 1–2 letras
  buscan palabras completas para no recorrer medio catálogo.
- El arranque en frío mide `create_app()` en un proceso nuevo; los catálogos grandes no se
  cargan al arrancar sino con la primera búsqueda.
- Solicitudes por factura: la primera para un cliente con 3 productos nuevos busca y registra
  cliente y productos y lee impuestos y numeración (se guardan en caché); después, solo el
  `POST /invoices` (XML y PDF llegan por URLs firmadas, fuera del API).
- Timbrado en lote: el cliente lee `X-Rate-Limit-Remaining`/`Reset` y espera el reinicio de la
  ventana en lugar de recibir 429; el ritmo se compara con el límite de 150 por minuto.
- La memoria se mide con `VmHWM` del proceso de `flask serve` (waitress) tras cargar los
  catálogos del SAT y servir listas, búsqueda y detalle.
"""

if __name__ == "__main__":
    sys.exit(main())
