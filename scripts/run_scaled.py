"""Several instances of apunto-fact on one Linux machine, started and stopped by one command.

PostgreSQL (APUNTO_DATABASE_URL, else Debian's local cluster), the task queue in Redis
(APUNTO_JOBS_REDIS_URL, else a private redis-server on a Unix socket in the instance folder),
migrations once, then N server processes sharing one port (gunicorn, threads like waitress) and
M queue workers (`flask worker`; only the first schedules the periodic tasks). A worker or the
private Redis that dies is started again; Ctrl+C (or SIGTERM) stops everything, letting each
process finish what it has in hand. Run it as `make run-scaled` or `scripts/run-scaled.sh`.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
# A stamp in hand may wait this long for Alegra (connect + stamp timeout + margin).
GRACE_SECONDS = 90


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="run-scaled", description="Varias instancias: PostgreSQL + Redis + N servidores "
                                       "+ M trabajadores de la cola. Ctrl+C detiene todo.")
    parser.add_argument("--servers", type=int, default=int(os.environ.get("APUNTO_SERVERS", 2)),
                        help="procesos del servidor web (por omisión 2)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("APUNTO_WORKERS", 2)),
                        help="procesos trabajadores de la cola (por omisión 2)")
    parser.add_argument("--threads", type=int, default=8, help="hilos por servidor (8)")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 5000)))
    parser.add_argument("--sandbox", action="store_true",
                        help="iniciar también el sandbox local de Alegra (puerto SANDBOX_PORT, "
                             "5001)")
    parser.add_argument("--allow-network", action="store_true",
                        help="servir en la red aunque todavía no exista la cuenta del dueño")
    args = parser.parse_args(argv)
    if args.servers < 1 or args.workers < 1:
        parser.error("se necesita al menos un servidor y un trabajador")
    return args


def say(message):
    print(f"[run-scaled] {message}", flush=True)


class Stack:
    """The child processes, stopped in reverse order of need."""

    def __init__(self, env):
        self.env = env
        self.servers = None
        self.workers = []
        self.redis = None
        self.sandbox = None
        self.stopping = False

    def spawn(self, command, **kwargs):
        # Own session: Ctrl+C in the terminal reaches only this launcher, which then stops
        # each child gracefully and in order (workers before the Redis they still need).
        return subprocess.Popen(command, env={**self.env, **kwargs.pop("env", {})},
                                start_new_session=True, **kwargs)

    def stop(self):
        # A second Ctrl+C while waiting: stop now (what is cut short is resolved by reading
        # Alegra, never sent twice).
        signal.signal(signal.SIGINT, lambda *_: self.kill_all())
        signal.signal(signal.SIGTERM, lambda *_: self.kill_all())
        self.stopping = True
        front = [p for p in [self.servers, *self.workers] if p and p.poll() is None]
        for process in front:
            process.send_signal(signal.SIGTERM)
        _wait_all(front, GRACE_SECONDS + 10)
        back = [p for p in (self.sandbox, self.redis) if p and p.poll() is None]
        for process in back:
            process.send_signal(signal.SIGTERM)
        _wait_all(back, 30)


    def kill_all(self):
        for process in [self.servers, *self.workers, self.sandbox, self.redis]:
            if process and process.poll() is None:
                process.kill()


def _wait_all(processes, timeout):
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def local_postgres():
    """The URL of database APUNTO_PG_DB (apunto) in Debian's local PostgreSQL."""
    name = os.environ.get("APUNTO_PG_DB", "apunto")
    result = subprocess.run(["bash", os.path.join(ROOT, "scripts", "postgres-db.sh"), name],
                            capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip():
        sys.exit("[run-scaled] No hay PostgreSQL en esta máquina. Instálalo "
                 "(sudo apt-get install postgresql) o indica APUNTO_DATABASE_URL.")
    return result.stdout.strip()


def start_redis(stack, instance):
    """A private redis-server on a Unix socket in the instance folder (data kept: AOF)."""
    folder = os.path.join(instance, "redis")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    sock = os.path.join(folder, "redis.sock")
    stack.redis = stack.spawn(
        ["redis-server", "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
         "--dir", folder, "--appendonly", "yes", "--save", "", "--daemonize", "no"],
        stdout=subprocess.DEVNULL)
    return f"unix://{sock}?db=0", sock


def wait_for_redis(url):
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                sys.exit(f"[run-scaled] Redis no respondió en {url}.")
            time.sleep(0.1)


def prepare(env, host, port, allow_network):
    """Migrations once, before any process starts; refuse an exposed first run like serve."""
    import click
    from flask_migrate import upgrade

    os.environ.update(env)
    from apunto_fact import create_app
    from apunto_fact import exposure
    from apunto_fact import paths
    from apunto_fact.extensions import db

    app = create_app()
    with app.app_context():
        upgrade(directory=paths.migrations_dir())
        try:
            exposure.check(host, port, allow_network)
        except click.ClickException as exc:
            sys.exit(f"[run-scaled] {exc.message}")
        db.engine.dispose()


def worker_command(number):
    # Exactly one worker schedules the periodic tasks (Huey would enqueue them once per
    # scheduler otherwise); any worker runs them.
    periodic = "--periodic" if number == 0 else "--no-periodic"
    return [os.path.join(BIN, "flask"), "worker", periodic]


def main(argv=None):
    args = parse(argv)
    if sys.platform == "win32":
        sys.exit("[run-scaled] Solo en Linux/Unix (gunicorn). En Windows usa `flask serve`.")
    instance = os.environ.get("APUNTO_INSTANCE_PATH") or os.path.join(ROOT, "instance")
    os.makedirs(instance, mode=0o700, exist_ok=True)
    env = {**os.environ, "APUNTO_INSTANCE_PATH": instance, "FLASK_APP": "apunto_fact",
           "PYTHONUNBUFFERED": "1", "APUNTO_JOBS_EMBEDDED": "0"}
    env["APUNTO_DATABASE_URL"] = env.get("APUNTO_DATABASE_URL") or local_postgres()
    if not os.path.exists(os.path.join(BIN, "gunicorn")):
        sys.exit("[run-scaled] Falta gunicorn: .venv/bin/pip install -e '.[scale]' "
                 "(make run-scaled lo instala).")
    stack = Stack(env)

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    # Explicitly for SIGINT too: started in the background by a non-interactive shell (CI,
    # nohup), a process inherits SIGINT ignored and Python then keeps ignoring Ctrl+C.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        own_redis = not env.get("APUNTO_JOBS_REDIS_URL")
        if own_redis:
            env["APUNTO_JOBS_REDIS_URL"], sock = start_redis(stack, instance)
            say(f"Redis (cola de tareas) en {sock}")
        wait_for_redis(env["APUNTO_JOBS_REDIS_URL"])
        prepare(env, args.host, args.port, args.allow_network)
        say("Base de datos migrada.")
        if args.sandbox:
            sandbox_port = int(env.get("SANDBOX_PORT", 5001))
            stack.sandbox = stack.spawn([os.path.join(BIN, "flask"), "alegra-sandbox",
                                         "--port", str(sandbox_port)])
            env["APUNTO_SANDBOX_URL"] = f"http://127.0.0.1:{sandbox_port}/api/v1"
        stack.workers = [stack.spawn(worker_command(n)) for n in range(args.workers)]
        stack.servers = stack.spawn([
            os.path.join(BIN, "gunicorn"), "--workers", str(args.servers),
            "--worker-class", "gthread", "--threads", str(args.threads),
            "--bind", f"{args.host}:{args.port}", "--graceful-timeout", str(GRACE_SECONDS),
            "--timeout", str(GRACE_SECONDS + 30), "--no-control-socket",
            # Each process listens on the port itself (SO_REUSEPORT): Linux spreads the new
            # connections evenly, instead of the least busy process taking nearly all of them.
            "--reuse-port",
            "apunto_fact:create_app()"])
        say(f"apunto-fact en http://{args.host}:{args.port} — {args.servers} servidores, "
            f"{args.workers} trabajadores de la cola (Ctrl+C para salir)")
        supervise(stack, own_redis, instance)
    except KeyboardInterrupt:
        say("Deteniendo (cada proceso termina lo que tiene en curso)…")
    finally:
        stack.stop()
    say("Todo detenido.")
    return 0


def supervise(stack, own_redis, instance):
    """Start again a worker or the private Redis that died; a dead gunicorn ends the run."""
    while True:
        time.sleep(0.5)
        if stack.servers.poll() is not None:
            say(f"Los servidores terminaron (código {stack.servers.returncode}); se detiene todo.")
            return
        if own_redis and stack.redis.poll() is not None:
            say("Redis terminó; se inicia de nuevo (la cola se conserva en disco).")
            start_redis(stack, instance)
        for number, worker in enumerate(stack.workers):
            if worker.poll() is not None:
                say(f"El trabajador {number + 1} terminó (código {worker.returncode}); se "
                    "inicia de nuevo.")
                stack.workers[number] = stack.spawn(worker_command(number))


if __name__ == "__main__":
    sys.exit(main())
