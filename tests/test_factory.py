"""create_app(): configuration order, instance secrets, database setup and migrations."""
import os
import stat

import pytest

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from apunto_fact import create_app
from apunto_fact import fulltext
from apunto_fact.extensions import db


def test_config_order_defaults_instance_env_test(tmp_path, monkeypatch):
    monkeypatch.delenv("APUNTO_ALEGRA_URL", raising=False)
    (tmp_path / "config.py").write_text(
        'ALEGRA_PRODUCTION_URL = "https://instance.example/api/v1"\nSANDBOX_PORT = 6001\n')
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["ALEGRA_PRODUCTION_URL"] == "https://instance.example/api/v1"
    assert app.config["SANDBOX_PORT"] == 6001
    monkeypatch.setenv("APUNTO_ALEGRA_URL", "https://env.example/api/v1")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["ALEGRA_PRODUCTION_URL"] == "https://env.example/api/v1"
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SANDBOX_PORT": 7001})
    assert app.config["SANDBOX_PORT"] == 7001
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("apunto_fact.sqlite")


def test_database_url_from_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'otra.sqlite'}"
    monkeypatch.setenv("APUNTO_DATABASE_URL", url)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url


def test_secret_key_is_generated_once_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_sqlite_runs_in_wal_mode(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("WAL is a SQLite setting")
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_migrations_match_the_models(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_name": fulltext.include_name})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_upgrade_keeps_existing_data(app, runner):
    from apunto_fact.auth import service
    with app.app_context():
        service.create_user("ana", "secreto-largo")
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert service.has_users()


def test_unknown_page_is_a_spanish_404(user):
    response = user.get("/no-existe")
    assert response.status_code == 404
    assert "La página que buscas no existe." in response.get_data(as_text=True)


def test_unexpected_error_is_a_spanish_500_without_traceback(app, user, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("boom secreto")

    from apunto_fact.settings import views
    monkeypatch.setattr(views.alegra, "connection", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = user.get("/configuracion/integraciones/alegra")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Ocurrió un error inesperado" in html
    assert "boom secreto" not in html and "Traceback" not in html
