"""Fernet/MultiFernet handling for the secrets we store (the Alegra token)."""
import os

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from flask import current_app

from .config import write_private

KEY_FILE = "fernet.key"


class KeyProblem(Exception):
    """The encryption key is missing, malformed or does not open the stored secret."""


def _key_path():
    return os.path.join(current_app.instance_path, KEY_FILE)


def _configured_keys(create):
    """Return the keys, newest first, from APUNTO_FERNET_KEYS or instance/fernet.key."""
    from_env = current_app.config.get("FERNET_KEYS")
    if from_env:
        return [k.strip() for k in str(from_env).split(",") if k.strip()]
    path = _key_path()
    if not os.path.exists(path):
        if not create:
            raise KeyProblem(
                "No se encontró la llave de cifrado (instance/fernet.key). Si moviste la carpeta "
                "instance/, copia también ese archivo; si se perdió, vuelve a escribir el token "
                "de Alegra en Configuración → Integraciones → Alegra."
            )
        write_private(path, Fernet.generate_key().decode("ascii"))
    with open(path, encoding="ascii") as fh:
        return [line.strip() for line in fh if line.strip()]


def _fernet(create=False):
    try:
        return MultiFernet([Fernet(k) for k in _configured_keys(create)])
    except (ValueError, TypeError) as exc:
        raise KeyProblem(
            "La llave de cifrado no es válida (APUNTO_FERNET_KEYS o instance/fernet.key). "
            "Revisa que sea la llave original de 44 caracteres."
        ) from exc


def encrypt(text):
    """Encrypt text with the newest key, creating a key file on first need."""
    return _fernet(create=True).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token):
    """Decrypt a stored secret or raise KeyProblem with a Spanish explanation."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise KeyProblem(
            "La llave de cifrado no corresponde al token guardado. Restaura el archivo "
            "instance/fernet.key original (o APUNTO_FERNET_KEYS), o vuelve a escribir el token "
            "de Alegra. El token cifrado se conserva sin cambios."
        ) from exc


def keys_from_environment():
    """Return True when the keys come from APUNTO_FERNET_KEYS rather than instance/."""
    return bool(current_app.config.get("FERNET_KEYS"))


def new_key():
    """Return a freshly generated Fernet key."""
    return Fernet.generate_key().decode("ascii")


def rotate(ciphertexts, key=None):
    """Re-encrypt ciphertexts under key (default: the newest configured key).

    The caller persists the new key (next to the old ones) before storing the result, so
    every stored secret stays readable whatever step fails.
    """
    current = _fernet()
    fernets = [Fernet(key), *current._fernets] if key else current._fernets
    both = MultiFernet(fernets)
    try:
        return [both.rotate(c.encode("ascii")).decode("ascii") for c in ciphertexts]
    except InvalidToken as exc:
        raise KeyProblem(
            "No se pudo leer un secreto guardado con la llave actual; no se cambió nada."
        ) from exc


def install_key(key):
    """Persist key as the only key in instance/fernet.key (synced to disk)."""
    write_private(_key_path(), key)


def install_keys(keys):
    """Persist keys, newest first, in instance/fernet.key (synced to disk)."""
    write_private(_key_path(), "\n".join(keys))


def file_keys():
    """The keys currently in instance/fernet.key, newest first."""
    return _configured_keys(create=False)
