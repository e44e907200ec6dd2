"""Account rules: creating users, checking passwords, locking after repeated failures."""
from datetime import timedelta

from flask import current_app
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..timeutil import utcnow
from .models import User

MIN_PASSWORD = 8
# Spend the same hashing time for unknown users, so timing does not reveal usernames.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="pbkdf2:sha256:1000")


class LoginRefused(Exception):
    """Login failed; the message is safe to show."""


def has_users():
    """Return True once any account exists (first run is over)."""
    return db.session.query(User.id).limit(1).first() is not None


def normalize_username(username):
    """Usernames are case-insensitive and trimmed."""
    return (username or "").strip().lower()


def create_user(username, password):
    """Create an account; raise ValueError with a Spanish message when invalid."""
    username = normalize_username(username)
    if not username or len(username) > 80:
        raise ValueError("El usuario debe tener entre 1 y 80 caracteres.")
    if len(password or "") < MIN_PASSWORD:
        raise ValueError(f"La contraseña debe tener al menos {MIN_PASSWORD} caracteres.")
    if db.session.query(User.id).filter_by(username=username).first():
        raise ValueError("Ya existe un usuario con ese nombre.")
    user = User(username=username, password_hash=_hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def _hash(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def authenticate(username, password):
    """Return the user for valid credentials or raise LoginRefused."""
    user = db.session.query(User).filter_by(username=normalize_username(username)).first()
    now = utcnow()
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise LoginRefused("Usuario o contraseña incorrectos.")
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise LoginRefused(f"Demasiados intentos fallidos. Intenta de nuevo en {minutes} min.")
    if not check_password_hash(user.password_hash, password or ""):
        _record_failure(user, now)
        raise LoginRefused("Usuario o contraseña incorrectos.")
    user.failed_logins, user.locked_until = 0, None
    db.session.commit()
    return user


def _record_failure(user, now):
    cfg = current_app.config
    user.failed_logins += 1
    if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(seconds=cfg["LOGIN_LOCK_SECONDS"])
        user.failed_logins = 0
    db.session.commit()
