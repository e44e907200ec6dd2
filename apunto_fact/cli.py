"""Command-line tools: flask --app apunto_fact <command>."""
import os
import socket
import sys
import webbrowser

import click
from flask import current_app
from flask.cli import ScriptInfo
from flask.cli import with_appcontext

from . import crypto
from .extensions import db


def main(argv=None):
    """The `apunto-fact` console script: migrate the database, then serve.

    `apunto-fact worker [...]` runs a queue worker instead (no migration: servers do that).
    """
    from flask_migrate import upgrade

    from . import create_app
    from . import paths

    argv = sys.argv[1:] if argv is None else list(argv)
    paths.use_user_folder_when_installed()
    app = create_app()
    info = ScriptInfo(create_app=lambda: app, set_debug_flag=False)
    if argv[:1] == ["worker"]:
        return worker.main(args=argv[1:], prog_name="apunto-fact worker", obj=info)
    with app.app_context():
        upgrade(directory=paths.migrations_dir())
    return serve.main(args=argv, prog_name="apunto-fact", obj=info)


def init_app(app):
    """Register the commands."""
    for command in (create_user, rotate_key, alegra_sandbox, serve, worker, sat_info, reconcile,
                    export_month):
        app.cli.add_command(command)


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--password", help="Contraseña (si no se da, se pide sin mostrarla).")
@click.option("--role", type=click.Choice(["dueno", "contador", "capturista"]), default=None,
              help="Rol: dueno, contador o capturista (el primer usuario siempre es dueño; "
                   "después, contador si no se indica).")
def create_user(username, password, role):
    """Create a user account (asks for the password)."""
    from .auth import service
    from .auth.policy import ROLES

    if password is None:
        password = click.prompt("Contraseña", hide_input=True, confirmation_prompt=True)
    try:
        user = service.create_user(username, password, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Usuario «{user.username}» creado ({ROLES[user.role]}).")


@click.command("rotate-key")
@with_appcontext
def rotate_key():
    """Re-encrypt the stored Alegra token under a new key."""
    from .settings.models import AlegraConnection

    rows = [r for r in db.session.query(AlegraConnection).all() if r.token_encrypted]
    try:
        if crypto.keys_from_environment():
            # The environment cannot be rewritten from here: re-encrypt with its newest key.
            new = None
            tokens = crypto.rotate([r.token_encrypted for r in rows])
        else:
            new = crypto.new_key()
            tokens = crypto.rotate([r.token_encrypted for r in rows], key=new)
            # 1. The new key is on disk (synced) next to the old ones before anything is
            #    stored under it: a failure from here on leaves every token readable.
            crypto.install_keys([new, *crypto.file_keys()])
    except crypto.KeyProblem as exc:
        raise click.ClickException(str(exc)) from exc
    # 2. Store the re-encrypted tokens.
    for row, token in zip(rows, tokens):
        row.token_encrypted = token
    db.session.commit()
    if new:
        # 3. Only now drop the old keys: every stored secret is under the new one.
        crypto.install_key(new)
        click.echo(f"Llave nueva guardada en instance/{crypto.KEY_FILE}; "
                   f"{len(rows)} secreto(s) re-cifrado(s).")
    else:
        click.echo(f"{len(rows)} secreto(s) re-cifrado(s) con la primera llave de "
                   "APUNTO_FERNET_KEYS; ya puedes quitar las llaves anteriores de esa variable.")


def _sandbox_server(port):
    from .sandbox.server import SandboxServer

    cfg = current_app.config
    return SandboxServer(cfg["SANDBOX_STATE_PATH"], email=cfg["SANDBOX_EMAIL"],
                         token=cfg["SANDBOX_TOKEN"], port=port,
                         rate_limit=cfg["SANDBOX_RATE_LIMIT"])


def _announce_sandbox(server):
    cfg = current_app.config
    click.echo(f"Sandbox local de Alegra en {server.url}")
    click.echo(f"  Usuario de la API: {cfg['SANDBOX_EMAIL']}")
    click.echo(f"  Token:             {cfg['SANDBOX_TOKEN']}  (solo para pruebas)")


@click.command("alegra-sandbox")
@with_appcontext
@click.option("--port", default=5001, show_default=True, type=int)
def alegra_sandbox(port):
    """Run the local Alegra sandbox on its own."""
    server = _sandbox_server(port)
    _announce_sandbox(server)
    server.serve_forever()


def free_port(host, preferred, attempts=50):
    """Return preferred if nothing listens there, else the next free port after it."""
    for port in range(preferred, preferred + attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # Probe the way waitress binds: a port left in TIME_WAIT by a killed server is
            # free for it (SO_REUSEADDR); on Windows that option would steal a busy port.
            if os.name == "nt":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            else:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise click.ClickException(
        f"No hay puertos libres entre {preferred} y {preferred + attempts - 1}. "
        "Cierra otros programas o indica otro con --port.")


def _port_or_next(host, port, what):
    chosen = free_port(host, port)
    if chosen != port:
        click.echo(f"El puerto {port} está ocupado por otro programa; {what} usará el "
                   f"{chosen}.")
    return chosen


def run_server(app, host, port, sandbox=True, sandbox_port=None, open_browser=False,
               queue_worker=None):
    """Start the sandbox (optional) and serve the app; a busy port moves to the next one.

    queue_worker: run the task queue's consumer in this process (default JOBS_EMBEDDED);
    False when separate `flask worker` processes take the tasks.
    """
    from waitress import create_server

    if sandbox:
        wanted = sandbox_port or app.config["SANDBOX_PORT"]
        server = _sandbox_server(_port_or_next("127.0.0.1", wanted, "el sandbox de Alegra"))
        server.start()
        # The app must talk to the sandbox where it really listens.
        app.config["ALEGRA_SANDBOX_URL"] = server.url
        _announce_sandbox(server)
    _recover_in_background(app)
    port = _port_or_next(host, port, "apunto-fact")
    try:
        http = create_server(app, host=host, port=port, threads=8, ident="apunto-fact")
    except OSError as exc:
        raise click.ClickException(
            f"No se pudo abrir el puerto {port} ({exc.strerror or exc}). "
            "Prueba otro con --port.") from exc
    from . import jobs

    # The task queue's workers run in this same command: nothing else to start.
    if queue_worker is None:
        queue_worker = app.config["JOBS_EMBEDDED"]
    consumer = jobs.start_consumer(app) if queue_worker else None
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    click.echo(f"apunto-fact en {url}  (Ctrl+C para salir)")
    sys.stdout.flush()
    if open_browser:
        webbrowser.open(url)
    try:
        http.run()
    except KeyboardInterrupt:
        click.echo("apunto-fact se detuvo.")
    finally:
        http.close()
        if consumer:
            consumer.stop()  # a sweep cut short is safe: it only reads and downloads


def _first_run():
    """True while no account exists (and there is a screen): open the browser for the owner."""
    from .auth.models import User

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or
                                                 os.environ.get("WAYLAND_DISPLAY")):
        return False  # a server or CI: nobody to show a browser to

    try:
        return db.session.query(User.id).first() is None
    except Exception:  # noqa: BLE001 - an unmigrated database is a first run too
        db.session.rollback()
        return True


@click.command("serve")
@with_appcontext
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="HOST o 127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int,
              show_default="PORT o 5000")
@click.option("--sandbox/--no-sandbox", default=True, show_default=True,
              help="Iniciar también el sandbox local de Alegra.")
@click.option("--sandbox-port", type=int, default=None,
              help="Puerto del sandbox (por omisión SANDBOX_PORT, 5001).")
@click.option("--browser/--no-browser", default=None,
              help="Abrir el navegador (por omisión, solo la primera vez).")
@click.option("--allow-network", is_flag=True,
              help="Servir en la red aunque todavía no exista la cuenta del dueño.")
@click.option("--worker/--no-worker", "queue_worker", default=None,
              help="Atender la cola de tareas en este mismo proceso (por omisión sí; no "
                   "cuando corren procesos `flask worker` aparte, APUNTO_JOBS_EMBEDDED=0).")
def serve(host, port, sandbox, sandbox_port, browser, allow_network, queue_worker):
    """Serve the app with waitress (and the local Alegra sandbox)."""
    from . import exposure

    exposure.check(host, port, allow_network)
    app = current_app._get_current_object()
    open_browser = _first_run() if browser is None else browser
    run_server(app, host, port, sandbox, sandbox_port, open_browser, queue_worker)


@click.command("worker")
@with_appcontext
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="Tareas a la vez en este proceso (por omisión JOBS_WORKERS, 2).")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Programar aquí las tareas periódicas (la revisión cada 5 minutos). Con "
                   "varios trabajadores, solo uno con --periodic; los demás con --no-periodic.")
def worker(threads, periodic):
    """Run the task queue's workers as a process of their own (several servers, one queue)."""
    import logging

    from . import jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()
    cfg = app.config
    # Ctrl+C / SIGTERM wait for a stamp in hand as long as its POST may take, then give up:
    # what is cut short is resolved by reading Alegra (attempt markers), never sent twice.
    timeout = cfg["ALEGRA_CONNECT_TIMEOUT"] + cfg["ALEGRA_STAMP_TIMEOUT"] + 15
    consumer = jobs.queue().worker(threads or cfg["JOBS_WORKERS"], periodic, timeout)
    store = "Redis" if cfg.get("JOBS_REDIS_URL") else "SQLite (instance/jobs.sqlite)"
    click.echo(f"Trabajador de la cola: {consumer.workers} tarea(s) a la vez, cola en {store}, "
               f"tareas periódicas {'aquí' if periodic else 'en otro trabajador'}. "
               "Ctrl+C termina lo que está haciendo y sale.")
    sys.stdout.flush()
    # A stamp whose process died (a killed worker or server) is resolved by reading Alegra
    # when a worker starts, as `serve` does; reconcile only touches attempts of dead senders.
    _recover_in_background(app)
    consumer.run()
    click.echo("El trabajador de la cola se detuvo.")


def _recover_in_background(app):
    """Invoices a dead process left "stamping" are resolved by reading Alegra, at once."""
    import threading

    from .invoices import stamping

    threading.Thread(target=stamping.recover_at_start, args=(app,), daemon=True,
                     name="recover-stamping").start()


@click.command("sat-info")
@with_appcontext
def sat_info():
    """Print which SAT catalogs are loaded, how many entries, and their source."""
    from .sat import catalogs as cat
    from .sat import search

    source = search.source()
    click.echo(f"Fuente: {source['source']} (archivo del {source['catalogs_db_date']}, "
               f"generado el {source['generated']})")
    for name, catalog in (("c_ClaveProdServ", search.PRODUCTOS),
                          ("c_ClaveUnidad", search.UNIDADES),
                          ("c_CodigoPostal", search.CODIGOS_POSTALES),
                          ("c_Moneda", search.MONEDAS)):
        click.echo(f"  {name:<22}{len(catalog):>7,} claves")
    for name, table in (("c_RegimenFiscal", cat.REGIMENES), ("c_UsoCFDI", cat.USOS_CFDI),
                        ("c_FormaPago", cat.FORMAS_PAGO), ("c_MetodoPago", cat.METODOS_PAGO),
                        ("c_ObjetoImp", cat.OBJETOS_IMP),
                        ("c_MotivoCancelacion", cat.MOTIVOS_CANCELACION)):
        click.echo(f"  {name:<22}{len(table):>7,} claves (CFDI 4.0, phpcfdi 2026-08-06)")


@click.command("reconcile")
@with_appcontext
def reconcile():
    """Resolve unknown and pending invoices by reading Alegra; fetch missing XML/PDF."""
    from .invoices import stamping
    from .settings import alegra

    invoices = stamping.pending()
    before = {invoice.id: invoice.status_label for invoice in invoices}
    # One listing per customer and date serves all of its invoices.
    for invoice in stamping.reconcile_many(invoices):
        click.echo(f"{invoice.title}: {before[invoice.id]} → {invoice.status_label}")
        if any(a.outcome == "duplicate" and a.void_status != "cancelled"
               for a in invoice.attempts()):
            click.echo(f"  ¡Atención! {stamping.duplicate_message(invoice)} Cancélalo desde la "
                       f"página de la factura.")
    missing = stamping.missing_files()
    for invoice in missing:
        try:
            ok = stamping.fetch_files(invoice, alegra.make_client(invoice_id=invoice.id))
        except (crypto.KeyProblem, alegra.NotConfigured) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"{invoice.title}: XML y PDF {'archivados' if ok else 'pendientes'}")
    from .payments import stamping as rep

    payments = rep.pending()
    for payment in payments:
        before = payment.label
        rep.reconcile(payment)
        click.echo(f"Pago #{payment.id}: {before} → {payment.label}")
    if not invoices and not missing and not payments:
        click.echo("Nada pendiente.")


@click.command("export")
@with_appcontext
@click.option("--month", "month", required=True, help="Mes a exportar, AAAA-MM.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True),
              help="Archivo ZIP de salida (por omisión apunto-fact-AAAA-MM.zip aquí).")
def export_month(month, output):
    """Write the month's ZIP: every XML and PDF plus the register (works offline)."""
    from .archive import export

    try:
        export.parse_month(month)
    except export.BadMonth as exc:
        raise click.ClickException(str(exc)) from exc
    path = export.save_month(month, output or export.zip_name(month))
    click.echo(f"Archivo del mes {month} guardado en {path}")
