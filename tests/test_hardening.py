"""Exposure, sandbox switches and downloads: what an outsider or a shared computer could use."""
import pytest
import requests

from apunto_fact.exposure import is_loopback
from conftest import SANDBOX_CONTROL


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("mi-pc.local", False)])
def test_loopback_hosts(host, expected):
    assert is_loopback(host) is expected


@pytest.fixture
def no_waitress(monkeypatch):
    """Record the server start instead of listening (a test must never bind 0.0.0.0)."""
    calls = []
    monkeypatch.setattr("apunto_fact.cli.run_server", lambda app, host, port, *a: calls.append(
        (host, port)))
    return calls


def test_serving_on_the_network_without_an_owner_is_refused(runner, no_waitress):
    result = runner.invoke(args=["serve", "--host", "0.0.0.0", "--port", "5209",
                                 "--no-sandbox"])
    assert result.exit_code == 1
    assert "Aviso: apunto-fact quedará abierto a otras computadoras" in result.output
    assert "Todavía no existe la cuenta del dueño" in result.output
    assert no_waitress == []


def test_allow_network_or_an_owner_lets_it_start_with_the_warning(runner, no_waitress):
    result = runner.invoke(args=["serve", "--host", "0.0.0.0", "--port", "5209",
                                 "--no-sandbox", "--allow-network"])
    assert result.exit_code == 0, result.output
    assert "Aviso" in result.output and len(no_waitress) == 1
    runner.invoke(args=["create-user", "duena", "--password", "libreta-verde-1987"])
    result = runner.invoke(args=["serve", "--host", "0.0.0.0", "--port", "5209",
                                 "--no-sandbox"])
    assert result.exit_code == 0 and "Aviso" in result.output and len(no_waitress) == 2


def test_loopback_serving_gives_no_warning(runner, no_waitress):
    result = runner.invoke(args=["serve", "--host", "127.0.0.1", "--port", "5209",
                                 "--no-sandbox"])
    assert result.exit_code == 0 and "Aviso" not in result.output and len(no_waitress) == 1


@pytest.mark.parametrize("method, path", [("POST", "faults"), ("POST", "stats/reset"),
                                          ("GET", "stats")])
def test_sandbox_switches_need_the_custom_header(sandbox, method, path):
    url = f"{sandbox.root}/_sandbox/{path}"
    # What any web page can send cross-origin without a preflight: a text/plain POST.
    plain = requests.request(method, url, data='{"latency": 5}',
                             headers={"Content-Type": "text/plain"}, timeout=5)
    assert plain.status_code == 403
    assert requests.request(method, url, json={}, headers=SANDBOX_CONTROL,
                            timeout=5).status_code == 200
    faults = sandbox.app.extensions["sandbox"]["faults"]
    assert faults.latency == 0


def test_downloads_are_never_cached(invoicing):
    invoice_id = invoicing.draft()
    invoicing.stamp(invoice_id)
    for url in (f"/facturas/{invoice_id}/xml", f"/facturas/{invoice_id}/pdf",
                "/clientes/exportar.csv", "/productos/exportar.csv"):
        response = invoicing.user.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
    assert invoicing.user.get("/static/app.css").headers.get("Cache-Control") != "no-store"
