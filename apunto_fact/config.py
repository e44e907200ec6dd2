"""Configuration: defaults, then instance/config.py, then environment, then test overrides."""
import os
import secrets

DEFAULTS = {
    "ALEGRA_PRODUCTION_URL": "https://api.alegra.com/api/v1",
    "ALEGRA_SANDBOX_URL": "http://127.0.0.1:5001/api/v1",
    "ALEGRA_CONNECT_TIMEOUT": 5.0,
    "ALEGRA_READ_TIMEOUT": 30.0,
    # The status check is interactive: fail fast rather than keep the user waiting.
    "ALEGRA_STATUS_READ_TIMEOUT": 10.0,
    "ALEGRA_MAX_RATE_WAIT": 65.0,
    # Stamping waits on the PAC and the SAT: allow longer before calling it "unknown".
    "ALEGRA_STAMP_TIMEOUT": 60.0,
    # An attempt not found in Alegra this long after its POST was never created. The grace
    # period (RECONCILE_GRACE_SECONDS) is derived: connect + stamp read timeout + this margin;
    # setting it lower is refused at start (the POST could still be in flight).
    "RECONCILE_MARGIN_SECONDS": 60.0,
    # Pause between retries of a read (doubles each time); tests set it to 0.
    "ALEGRA_RETRY_BACKOFF": 0.5,
    # A queued stamp that certainly did not leave because Alegra was down or busy goes back
    # in line by itself after each of these pauses (seconds): together over an hour and a half.
    "STAMP_RETRY_DELAYS": (10, 30, 60, 120, 300, 600, 600, 600, 600, 600, 600, 600),
    "SANDBOX_EMAIL": "demo@sandbox.apunto.mx",
    "SANDBOX_TOKEN": "sbx-demo-7f3a9c2e41d8",
    "SANDBOX_PORT": 5001,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # CSRF tokens live as long as the session: a bookkeeper may leave a form open for hours.
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_HEADERS": ["X-CSRFToken"],
    # CSRF is checked in auth.views.require_login, right after the login check.
    "WTF_CSRF_CHECK_DEFAULT": False,
    # Built-in WTForms messages come from WTForms' own Spanish catalog (forms.BaseForm).
    "WTF_I18N_ENABLED": False,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 4 * 1024 * 1024,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCK_SECONDS": 300,
    "PASSWORD_HASH_METHOD": "scrypt",
    "DISPLAY_TIMEZONE": "America/Mexico_City",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
}

# Environment variable -> config key. Only these are read from the environment.
ENVIRONMENT = {
    "APUNTO_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "APUNTO_ALEGRA_URL": "ALEGRA_PRODUCTION_URL",
    "APUNTO_SANDBOX_URL": "ALEGRA_SANDBOX_URL",
    "APUNTO_FERNET_KEYS": "FERNET_KEYS",
    "SECRET_KEY": "SECRET_KEY",
}


def load(app, test_config=None):
    """Fill app.config in the documented order and derive what is missing."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for var, key in ENVIRONMENT.items():
        if os.environ.get(var):
            app.config[key] = os.environ[var]
    if test_config:
        app.config.from_mapping(test_config)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI",
        "sqlite:///" + os.path.join(app.instance_path, "apunto_fact.sqlite"),
    )
    # ALEGRA_RATE_LIMIT (optional): requests per minute of one Alegra API user, 150 when unset
    # (alegra.budget.LIMIT, alegra-api.md §1.6); the local sandbox plays the same figure.
    app.config.setdefault("SANDBOX_RATE_LIMIT", app.config.get("ALEGRA_RATE_LIMIT") or 150)
    app.config.setdefault("SANDBOX_STATE_PATH", os.path.join(app.instance_path, "alegra-sandbox.sqlite"))
    app.config.setdefault("ARCHIVE_PATH", os.path.join(app.instance_path, "archivo"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    derive_grace(app.config)


class ConfigError(ValueError):
    """A setting contradicts another one; the app refuses to start with it."""


def derive_grace(cfg):
    """Set RECONCILE_GRACE_SECONDS from the stamp POST's timeouts; refuse a shorter one."""
    floor = float(cfg["ALEGRA_CONNECT_TIMEOUT"]) + float(cfg["ALEGRA_STAMP_TIMEOUT"]) + \
        float(cfg["RECONCILE_MARGIN_SECONDS"])
    given = cfg.get("RECONCILE_GRACE_SECONDS")
    if given is None:
        cfg["RECONCILE_GRACE_SECONDS"] = floor
    elif float(given) < floor:
        raise ConfigError(
            f"RECONCILE_GRACE_SECONDS={given} is shorter than ALEGRA_CONNECT_TIMEOUT + "
            f"ALEGRA_STAMP_TIMEOUT + RECONCILE_MARGIN_SECONDS = {floor:g}: an invoice could be "
            f"declared not created while its POST is still in flight. Remove it or raise it.")


def _instance_secret(instance_path):
    """Return the secret key stored in instance/, creating it on first run."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        write_private(path, secrets.token_hex(32))
    with open(path, encoding="ascii") as fh:
        return fh.read().strip()


def write_private(path, text):
    """Write text to path readable only by the owner (0600), atomically and durably.

    The file is synced before the rename and the folder after it, so a crash or power cut
    leaves either the old content or the new one on disk, never an empty key file.
    """
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _sync_folder(os.path.dirname(path) or ".")


def _sync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its rename is already durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_private(instance_path):
    """Keep state in instance/ readable only by the user running the app (0700/0600).

    The umask covers every file created later (database, its WAL, archive, previews), even
    by code that does not ask; existing top-level files of older installs are tightened.
    """
    os.umask(0o077)
    os.makedirs(instance_path, mode=0o700, exist_ok=True)
    for path in [instance_path] + [os.path.join(instance_path, n)
                                   for n in os.listdir(instance_path)]:
        try:
            os.chmod(path, 0o700 if os.path.isdir(path) else 0o600)
        except OSError:  # not ours (a shared folder): leave it as it is
            pass
