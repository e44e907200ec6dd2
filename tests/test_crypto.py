"""The token's encryption key: missing, wrong, rotated, or given by the environment."""
import os
import stat

import pytest

from cryptography.fernet import Fernet

from apunto_fact import create_app
from apunto_fact.extensions import db
from apunto_fact.settings.models import AlegraConnection
from conftest import SANDBOX_TOKEN

URL = "/configuracion/integraciones/alegra"


def stored_token(app):
    with app.app_context():
        return db.session.get(AlegraConnection, 1).token_encrypted


def decrypted(app):
    with app.app_context():
        from apunto_fact.settings.alegra import make_client
        return make_client().session.auth[1]


def test_key_file_is_private_and_created_on_first_need(app, connected):
    path = os.path.join(app.instance_path, "fernet.key")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert decrypted(app) == SANDBOX_TOKEN


def test_wrong_key_gives_a_friendly_message_and_keeps_the_ciphertext(app, connected):
    before = stored_token(app)
    with open(os.path.join(app.instance_path, "fernet.key"), "w") as fh:
        fh.write(Fernet.generate_key().decode())
    page = connected.get(URL)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "La llave de cifrado no corresponde al token guardado" in html
    status = connected.post(URL + "/estado", htmx=True).get_data(as_text=True)
    assert "La llave de cifrado no corresponde" in status
    assert stored_token(app) == before


def test_missing_key_file_is_explained(app, connected):
    os.remove(os.path.join(app.instance_path, "fernet.key"))
    html = connected.get(URL).get_data(as_text=True)
    assert "No se encontró la llave de cifrado" in html
    assert os.path.exists(os.path.join(app.instance_path, "fernet.key")) is False


def test_malformed_key_in_environment_is_explained(app, connected):
    app.config["FERNET_KEYS"] = "no-es-una-llave"
    html = connected.get(URL).get_data(as_text=True)
    assert "La llave de cifrado no es válida" in html


def test_rotate_key_replaces_the_key_and_keeps_the_token_readable(app, connected, runner):
    key_path = os.path.join(app.instance_path, "fernet.key")
    old_key = open(key_path).read()
    old_cipher = stored_token(app)
    result = runner.invoke(args=["rotate-key"])
    assert result.exit_code == 0, result.output
    assert "1 secreto(s) re-cifrado(s)" in result.output
    assert open(key_path).read() != old_key
    assert stored_token(app) != old_cipher
    assert decrypted(app) == SANDBOX_TOKEN
    # The old key no longer opens the new ciphertext.
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600


def test_rotate_key_with_a_wrong_key_fails_clearly_and_changes_nothing(app, connected, runner):
    key_path = os.path.join(app.instance_path, "fernet.key")
    with open(key_path, "w") as fh:
        fh.write(Fernet.generate_key().decode())
    before = stored_token(app)
    result = runner.invoke(args=["rotate-key"])
    assert result.exit_code != 0
    assert "no se cambió nada" in result.output
    assert "Traceback" not in result.output
    assert stored_token(app) == before


def test_keys_from_environment_rotate_to_the_newest(app_config, monkeypatch, client):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("APUNTO_FERNET_KEYS", old)
    app = create_app(app_config)
    with app.app_context():
        from apunto_fact.settings import alegra
        conn = alegra.connection()
        assert alegra.save_credentials(conn, "sandbox", "a@b.mx", "tok-123") == {}
        cipher = conn.token_encrypted
    assert not os.path.exists(os.path.join(app.instance_path, "fernet.key"))
    assert Fernet(old).decrypt(cipher.encode()) == b"tok-123"
    monkeypatch.setenv("APUNTO_FERNET_KEYS", f"{new},{old}")
    app = create_app(app_config)
    result = app.test_cli_runner().invoke(args=["rotate-key"])
    assert result.exit_code == 0, result.output
    assert "APUNTO_FERNET_KEYS" in result.output
    assert Fernet(new).decrypt(stored_token(app).encode()) == b"tok-123"


@pytest.mark.parametrize("failing_step", ["write_key", "commit", "drop_old_keys"])
def test_rotate_key_failing_at_any_step_leaves_the_token_readable(app, connected, runner,
                                                                   monkeypatch, failing_step):
    from apunto_fact import crypto
    from apunto_fact.extensions import db as database

    class Boom(Exception):
        pass

    def boom(*_args, **_kwargs):
        raise Boom(failing_step)

    if failing_step == "write_key":
        monkeypatch.setattr(crypto, "install_keys", boom)
    elif failing_step == "commit":
        monkeypatch.setattr(database.session, "commit", boom)
    else:
        monkeypatch.setattr(crypto, "install_key", boom)
    result = runner.invoke(args=["rotate-key"])
    assert result.exit_code != 0 and isinstance(result.exception, Boom)
    monkeypatch.undo()
    with app.app_context():
        database.session.remove()
    assert decrypted(app) == SANDBOX_TOKEN
    # And a later rotation still works.
    assert runner.invoke(args=["rotate-key"]).exit_code == 0
    assert decrypted(app) == SANDBOX_TOKEN


def test_state_files_are_private(app, connected):
    import stat as st
    assert st.S_IMODE(os.stat(app.instance_path).st_mode) == 0o700
    for name in os.listdir(app.instance_path):
        mode = st.S_IMODE(os.stat(os.path.join(app.instance_path, name)).st_mode)
        assert mode & 0o077 == 0, (name, oct(mode))
