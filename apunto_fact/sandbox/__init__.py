"""The local Alegra sandbox: an emulator of the Alegra REST contract served over real HTTP."""
from flask import Flask

from .faults import Faults
from .faults import RateLimiter
from .seed import seed
from .store import Store


def create_sandbox_app(state_path, *, email, token, rate_limit=150, window=60.0,
                       profile="full"):
    """Build the sandbox WSGI app with its own SQLite state at state_path.

    ``profile`` seeds the account: "full" (ready to stamp), "half" or "bare".
    """
    from . import api
    from . import resources  # noqa: F401  (registers contacts, items, invoices on api.bp)

    app = Flask(__name__)
    app.url_map.strict_slashes = False  # real clients write some routes with "/" (evidence §5)
    app.config.update(SANDBOX_EMAIL=email, SANDBOX_TOKEN=token, JSON_SORT_KEYS=False)
    app.json.ensure_ascii = False
    store = Store(state_path)
    seed(store, profile)
    app.extensions["sandbox"] = {
        "store": store,
        "faults": Faults(),
        "limiter": RateLimiter(rate_limit, window),
    }
    app.register_blueprint(api.bp)
    app.register_blueprint(api.admin)
    app.register_blueprint(api.files)
    app.wsgi_app = api.DropMiddleware(app.wsgi_app)
    return app
