"""Run every benchmark, print a markdown table and write bench/RESULTS.md."""
import datetime
import os
import signal
import sys
import tempfile
import time
import traceback

from . import alegra_cost
from . import archive_month
from . import budget_spent
from . import catalog_search
from . import home
from . import memory
from . import pages
from . import rep_cost
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


def _guarded(name, run):
    """The section's rows; a section that breaks becomes a failed row, not a lost run."""
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - the other sections' figures must survive
        traceback.print_exc()
        return [{"what": f"Sección «{name}»", "value": f"falló: {type(exc).__name__}: "
                 f"{str(exc)[:200]}", "target": "—", "ok": False}]


def main(sections):
    """Run the chosen sections (all by default); write RESULTS.md only after a full run."""
    started = time.monotonic()
    rows, pages_report, pages_ok = [], "", True
    chosen = set(sections) or {"startup", "catalog", "pages", "home", "alegra", "budget",
                                "rep", "memory", "archive"}
    def catalog():
        with tempfile.TemporaryDirectory() as tmp:
            app, client = signed_in_client(tmp)
            with app.app_context():
                return catalog_search.run(client)

    measured = [("startup", startup.run), ("catalog", catalog), ("home", home.run),
                ("alegra", lambda: alegra_cost.requests_per_invoice() + alegra_cost.bulk()),
                ("budget", budget_spent.run), ("rep", rep_cost.requests_per_rep),
                ("memory", memory.run), ("archive", archive_month.run)]
    for name, run in measured:
        if name in chosen:
            rows += _guarded(name, run)
        if name == "catalog" and "pages" in chosen:
            pages_report, pages_ok = pages.run()
    minutes = (time.monotonic() - started) / 60
    report = (table(rows) + "\n\n## Páginas por HTTP (servidor real, usuarios concurrentes)\n"
              + PAGES_NOTES + pages_report)
    print(report)
    print(f"\nDuración total: {minutes:.0f} min")
    header = (f"# Resultados de `make bench`\n\nMáquina: {machine()}\n\n"
              f"Fecha: {datetime.date.today().isoformat()} · duración de esta corrida: "
              f"{minutes:.0f} min · carga media del equipo al terminar: {os.getloadavg()[0]:.1f}"
              "\n\n")
    target = os.path.join(HERE, "RESULTS.md" if not sections else "RESULTS-partial.md")
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(header + report + "\n" + NOTES)
    return 0 if pages_ok and all(r["ok"] is not False for r in rows) else 1


PAGES_NOTES = """
Cada página se pide por HTTP al proceso de `flask serve` (waitress, 8 hilos), como la usa
una persona: sesión iniciada, conexión keep-alive por usuario, fragmentos HTMX donde el
navegador los pide. Con 10 y 50 usuarios, cada uno espera entre 0.1 y 0.5 s tras cada
respuesta (una persona tarda segundos en leer una página; 0.1–0.5 s es el ritmo de quien
teclea en un autocompletado), así que 10 usuarios piden unas 30 páginas por segundo y 50
usuarios más de lo que un proceso puede servir (la fila de 50 mide la saturación). Un usuario
solo pide sin pausa. Por página y número de usuarios, 150 / 300 / 500 muestras, repetidas en
varias corridas: las cifras son la mediana de las corridas y se da el rango de su p95. El
generador de carga corre en la misma máquina (2 núcleos compartidos), así que los tiempos
incluyen su propio costo. Los datos generados se guardan en `bench/.data/` y las corridas
siguientes los migran al esquema actual en vez de generarlos otra vez.
"""


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
- Complemento de pago: el primero de la cuenta lee una vez las cuentas de banco (se guardan);
  después, solo `POST /payments` con el timbrado en la misma llamada (el cliente ya está
  registrado por su factura).
- Archivo del mes: 5,000 facturas con XML y PDF en disco, descargadas por HTTP del servidor
  real. El ZIP se escribe entrada por entrada mientras se envía; lo que crece es el directorio
  central del ZIP (unos 1.5 KB por archivo, obligatorio al final del ZIP), no el contenido.
- La memoria se mide con `VmHWM` del proceso de `flask serve` (waitress) tras cargar los
  catálogos del SAT y servir listas, búsqueda y detalle.
"""

if __name__ == "__main__":
    # Stopped with kill: leave through the context managers, which stop the servers started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main(sys.argv[1:]))
