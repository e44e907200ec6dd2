"""Account rules: creating users, checking passwords, locking after repeated failures."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import or_
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..timeutil import utcnow
from . import passwords
from .models import FirstRun
from .models import User
from .policy import OWNER
from .policy import ROLES

MIN_PASSWORD = passwords.MIN_PASSWORD
# One message for every refusal (unknown user, wrong password, locked account), so the
# answer does not reveal which usernames exist.
REFUSED = ("Usuario o contraseña incorrectos, o la cuenta está bloqueada unos minutos por "
           "demasiados intentos fallidos.")
_dummy_hashes = {}


class LoginRefused(Exception):
    """Login failed; the message is safe to show."""


class FirstRunTaken(Exception):
    """Another request created the first owner a moment ago."""


def has_users():
    """Return True once any account exists (first run is over)."""
    return db.session.query(User.id).limit(1).first() is not None


def normalize_username(username):
    """Usernames are case-insensitive and trimmed."""
    return (username or "").strip().lower()


def _new_user(username, password, role):
    username = normalize_username(username)
    if not username or len(username) > 80:
        raise ValueError("El usuario debe tener entre 1 y 80 caracteres.")
    if any(ord(c) < 32 or ord(c) == 127 for c in username):
        raise ValueError("El usuario no puede contener caracteres de control.")
    if role not in ROLES:
        raise ValueError("Elige un rol: " + ", ".join(ROLES.values()) + ".")
    reason = passwords.problem(password, username)
    if reason:
        raise ValueError(reason)
    if db.session.query(User.id).filter_by(username=username).first():
        raise ValueError("Ya existe un usuario con ese nombre.")
    user = User(username=username, password_hash=_hash(password), role=role)
    db.session.add(user)
    return user


def create_user(username, password, role=None):
    """Create an account; raise ValueError with a Spanish message when invalid.

    The very first account is always an owner (the CLI may create it before first run).
    """
    first = not has_users()
    user = _new_user(username, password, OWNER if first else (role or "contador"))
    if first:
        db.session.add(FirstRun(id=1))
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValueError("Ya existe un usuario con ese nombre.") from exc
    return user


def create_first_owner(username, password):
    """Create the one owner of a new instance; FirstRunTaken when another request won."""
    user = _new_user(username, password, OWNER)
    # The first_run primary key lets exactly one of any number of concurrent posts commit.
    db.session.add(FirstRun(id=1))
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise FirstRunTaken() from exc
    return user


def _hash(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash():
    """A hash made with the configured method, so a refused name costs what a real one does."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash("not-a-real-password", method=method)
    return _dummy_hashes[method]


def _claim_attempt(user_id, now):
    """Atomically reserve one of the allowed attempts; return False while locked.

    The counter is raised before the slow hash in one UPDATE, so parallel guesses can never
    evaluate more passwords than LOGIN_MAX_FAILURES; the attempt that uses the last slot
    also sets the lock, so nothing depends on a request finishing.
    """
    cfg = current_app.config
    limit = cfg["LOGIN_MAX_FAILURES"]
    expired = and_(User.locked_until.is_not(None), User.locked_until <= now)
    new_count = case((expired, 1), else_=User.failed_logins + 1)
    statement = (
        update(User)
        .where(User.id == user_id,
               or_(expired, and_(User.locked_until.is_(None), User.failed_logins < limit)))
        .values(failed_logins=new_count,
                locked_until=case((new_count >= limit,
                                   now + timedelta(seconds=cfg["LOGIN_LOCK_SECONDS"])),
                                  else_=None))
        .execution_options(synchronize_session=False))
    claimed = db.session.execute(statement).rowcount == 1
    db.session.commit()
    return claimed


def authenticate(username, password):
    """Return the user for valid credentials or raise LoginRefused.

    Unknown, disabled and locked accounts do the same work (a claim and a hash with the
    configured method) and get the same message as a wrong password.
    """
    name = normalize_username(username)
    row = db.session.query(User.id, User.password_hash, User.active).filter_by(
        username=name).first() if len(name) <= 80 else None
    now = utcnow()
    claimed = _claim_attempt(row.id if row else -1, now)
    if not (row and claimed and row.active):
        check_password_hash(_dummy_hash(), password or "")
        raise LoginRefused(REFUSED)
    if not check_password_hash(row.password_hash, password or ""):
        raise LoginRefused(REFUSED)
    db.session.execute(update(User).where(User.id == row.id)
                       .values(failed_logins=0, locked_until=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return db.session.get(User, row.id)


def end_sessions(user):
    """Invalidate every session of user (logout, password change, reset, disable)."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_version=User.session_version + 1)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(user)


def set_password(user, password):
    """Change a password after the policy check; ends the user's other sessions."""
    reason = passwords.problem(password, user.username)
    if reason:
        raise ValueError(reason)
    user.password_hash = _hash(password)
    user.failed_logins, user.locked_until = 0, None
    db.session.commit()
    end_sessions(user)


def owners_active(excluding=None):
    """Count active owners, optionally not counting one user."""
    query = db.session.query(User.id).filter_by(role=OWNER, active=True)
    if excluding is not None:
        query = query.filter(User.id != excluding.id)
    return query.count()


def set_active(user, active, by):
    """Enable or disable an account; the last active owner and oneself can't be disabled."""
    if not active and user.id == by.id:
        raise ValueError("No puedes desactivar tu propia cuenta.")
    if not active and user.role == OWNER and owners_active(excluding=user) == 0:
        raise ValueError("Debe quedar al menos un dueño activo.")
    user.active = bool(active)
    db.session.commit()
    if not active:
        end_sessions(user)


def set_role(user, role, by):
    """Change a role; the last active owner keeps theirs."""
    if role not in ROLES:
        raise ValueError("Elige un rol válido.")
    if user.role == OWNER and role != OWNER and owners_active(excluding=user) == 0:
        raise ValueError("Debe quedar al menos un dueño activo.")
    if user.id == by.id and role != OWNER:
        raise ValueError("No puedes quitarte a ti mismo el rol de dueño.")
    user.role = role
    db.session.commit()
