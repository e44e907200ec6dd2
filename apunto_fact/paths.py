"""Where templates, static files, migrations and data live: a checkout or an installed wheel."""
import os

PACKAGE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(PACKAGE)
# A wheel carries templates/, static/ and migrations/ inside the package (setup.py maps them).
INSTALLED_SHARE = os.path.join(PACKAGE, "_share")


def share_root():
    """Return the folder holding templates/, static/ and migrations/."""
    if os.path.isdir(os.path.join(CHECKOUT, "templates")):
        return CHECKOUT
    return INSTALLED_SHARE


def from_checkout():
    """True when running from the source tree (make run), not from an installed package."""
    return share_root() == CHECKOUT


def migrations_dir():
    """Return the Alembic migrations folder."""
    return os.path.join(share_root(), "migrations")


def use_user_folder_when_installed():
    """Keep data in the per-user folder of the system when not run from a checkout."""
    if from_checkout() or os.environ.get("APUNTO_INSTANCE_PATH"):
        return
    from platformdirs import user_data_dir

    os.environ["APUNTO_INSTANCE_PATH"] = user_data_dir("apunto-fact", appauthor=False)
