"""apunto-fact: CFDI 4.0 invoicing for small Mexican businesses through Alegra."""
import datetime
import os

from flask import Flask
from flask import render_template
from sqlalchemy import event

from . import config
from .extensions import csrf
from .extensions import db
from .extensions import login_manager
from .extensions import migrate
from .paths import share_root

PROJECT_ROOT = share_root()

# Top navigation, in order; an entry shows once its blueprint is registered.
NAVIGATION = [
    ("home", "Inicio"),
    ("invoices.index", "Facturas"),
    ("customers.index", "Clientes"),
    ("products.index", "Productos"),
    ("audit.index", "Bitácora"),
    ("settings.index", "Configuración"),
]


def create_app(test_config=None):
    """Create and configure the app."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        # APUNTO_INSTANCE_PATH keeps data elsewhere (tests, a synced backup folder).
        instance_path=(test_config or {}).get("INSTANCE_PATH")
        or os.environ.get("APUNTO_INSTANCE_PATH"),
        # templates/ and static/ sit beside the package, as the product card lays out.
        template_folder=os.path.join(PROJECT_ROOT, "templates"),
        static_folder=os.path.join(PROJECT_ROOT, "static"),
    )
    config.make_private(app.instance_path)
    from .web import BoundedIntConverter
    app.url_map.converters["int"] = BoundedIntConverter
    config.load(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_pages(app)
    from . import cli
    from . import errors
    from . import security

    errors.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    return app


def register_extensions(app):
    """Bind db, migrations, CSRF and login to the app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(PROJECT_ROOT, "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    from . import jobs

    jobs.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)

    from .auth.models import User

    @login_manager.user_loader
    def load_user(session_id):
        # "id:version": a session from before a logout or password change no longer loads,
        # and a disabled account's session stops on its next request.
        user_id, _, version = str(session_id).partition(":")
        if not (user_id.isdigit() and version.isdigit()):
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.session_version != int(version):
            return None
        return user


def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets the status check write while a page reads; busy_timeout absorbs short locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def register_blueprints(app):
    """Register one blueprint per area."""
    from .audit import bp as audit_bp
    from .auth import bp as auth_bp
    from .customers import bp as customers_bp
    from .invoices import bp as invoices_bp
    from .products import bp as products_bp
    from .sat.views import bp as sat_bp
    from .settings import bp as settings_bp

    for blueprint in (auth_bp, settings_bp, customers_bp, products_bp, sat_bp, invoices_bp,
                      audit_bp):
        app.register_blueprint(blueprint)


def register_pages(app):
    """Register the home page and the template helpers every page uses."""
    from flask_login import current_user

    from . import money
    from .auth import policy
    from . import timeutil
    from .settings import alegra
    from .sat.rules import capital_suffix
    from .web import is_htmx

    @app.get("/")
    def home():
        """Start page: what to do next, then the month at a glance."""
        from . import home as home_page

        return render_template("home.html", home=home_page.summary(),
                               one_day=datetime.timedelta(days=1))

    @app.context_processor
    def navigation():
        if not current_user.is_authenticated:
            return {}
        items = [(e, label) for e, label in NAVIGATION
                 if e in app.view_functions and policy.can(current_user, e)]
        return {"alegra_conn": alegra.connection(), "nav_items": items}

    app.add_template_filter(timeutil.fmt, "datetime")
    app.add_template_filter(timeutil.fmt_alegra, "alegra_time")
    app.add_template_filter(money.fmt, "money")
    app.add_template_global(is_htmx)
    app.add_template_global(lambda endpoint: policy.can(current_user, endpoint), "can")
    app.add_template_global(capital_suffix)
