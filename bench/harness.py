"""An app on a temporary instance with a signed-in owner, for benchmarks."""
import os
import sys

from flask_migrate import upgrade

from apunto_fact import create_app

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tests"))


def signed_in_client(folder, **config):
    """Return (app, client) on a migrated database in folder, signed in as the owner."""
    from conftest import Browserless

    # In-process flows press Timbrar like the tests do: the stamp runs inside the request
    # (JOBS_IMMEDIATE); measurements of the queue go through the real server instead.
    app = create_app({"INSTANCE_PATH": folder, "SECRET_KEY": "bench", "JOBS_IMMEDIATE": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", **config})
    with app.app_context():
        upgrade()
    client = app.test_client()
    Browserless(client).create_owner()
    return app, client


SANDBOX_EMAIL, SANDBOX_TOKEN = "bench@sandbox.apunto.mx", "bench-token"


def sandbox_connected(folder, **sandbox_options):
    """(sandbox, app, user): a local Alegra sandbox and an owner connected to it in demo mode."""
    from apunto_fact.sandbox.server import SandboxServer
    from conftest import Browserless

    sandbox = SandboxServer(os.path.join(folder, "sandbox.sqlite"), email=SANDBOX_EMAIL,
                            token=SANDBOX_TOKEN, **sandbox_options).start()
    app, client = signed_in_client(folder, ALEGRA_SANDBOX_URL=sandbox.url,
                                   SANDBOX_EMAIL=SANDBOX_EMAIL, SANDBOX_TOKEN=SANDBOX_TOKEN)
    user = Browserless(client)
    user.get("/")
    user.post("/configuracion/integraciones/alegra/demo", htmx=True)
    return sandbox, app, user
