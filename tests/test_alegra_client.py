"""The Alegra client against the sandbox over HTTP: errors, retries, rate limit, secrecy."""
import base64
import logging
import time
from decimal import Decimal

import pytest

from apunto_fact.alegra import AlegraClient
from apunto_fact.alegra import AlegraError
from apunto_fact.alegra import client as client_module
from apunto_fact.alegra.client import parse_error_body
from apunto_fact.alegra.client import unwrap_list
from apunto_fact.alegra.mapping import company_from_alegra
from apunto_fact.alegra.mapping import to_decimal
from apunto_fact.alegra.mapping import to_id
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import sandbox_calls
from conftest import set_faults


@pytest.fixture(autouse=True)
def fresh_windows():
    client_module._windows.clear()
    yield
    client_module._windows.clear()


def make(sandbox, token=SANDBOX_TOKEN, **options):
    options = {"read_timeout": 2.0, "backoff": 0.01, **options}
    return AlegraClient(sandbox.url, SANDBOX_EMAIL, token, **options)


@pytest.mark.parametrize("body, code, message", [
    ({"code": 2006, "message": "Ya existe un contacto", "contactId": "1142"}, 2006,
     "Ya existe un contacto"),
    ({"error": {"code": 3051, "message": "El nombre no coincide"}}, 3051, "El nombre no coincide"),
    ({"error": "Algo salió mal"}, None, "Algo salió mal"),
    ({"code": "3051", "message": " con espacios "}, 3051, "con espacios"),
    ({}, None, None),
])
def test_parse_error_body_reads_the_three_shapes(body, code, message):
    assert parse_error_body(body) == (code, message)


def test_error_shapes_over_http_keep_status_code_and_extra_fields(sandbox):
    set_faults(sandbox, rules=[{"method": "POST", "path": "/contacts", "status": 400,
                                "body": {"code": 2006, "message": "Duplicado", "contactId": 7}}])
    with pytest.raises(AlegraError) as caught:
        make(sandbox).post("/contacts", {"name": "X"})
    err = caught.value
    assert (err.status, err.code, err.message, err.kind) == (400, 2006, "Duplicado", "http")
    assert to_id(err.body["contactId"]) == "7"
    assert err.maybe_sent is False


NGINX_PAGE = "<html><body><h1>400 Bad Request</h1><hr>nginx</body></html>"


@pytest.mark.parametrize("status", [400, 502])
def test_a_non_json_error_body_becomes_a_plain_message_never_the_page(sandbox, status):
    """A proxy's HTML page is not Alegra's verdict: plain Spanish, and maybe sent (F5)."""
    set_faults(sandbox, rules=[{"method": "POST", "path": "/contacts", "status": status,
                                "body": NGINX_PAGE}])
    with pytest.raises(AlegraError) as caught:
        make(sandbox).post("/contacts", {"name": "X"})
    err = caught.value
    assert (err.status, err.kind, err.maybe_sent, err.body, err.message) == (
        status, "unreadable", True, {},
        f"Alegra respondió algo que no se pudo leer (HTTP {status}); suele ser una falla "
        f"momentánea de Alegra o de la red.")


@pytest.mark.parametrize("status", [401, 402, 403])
def test_auth_and_plan_errors_are_not_retried(sandbox, status):
    set_faults(sandbox, rules=[{"path": "/company", "status": status, "times": None}])
    with pytest.raises(AlegraError) as caught:
        make(sandbox).get("/company")
    assert caught.value.status == status
    assert sandbox_calls(sandbox)["calls"]["GET /company"] == 1


def test_wrong_token_is_401_from_the_sandbox(sandbox):
    with pytest.raises(AlegraError) as caught:
        make(sandbox, token="equivocado").get("/company")
    assert caught.value.status == 401
    assert "credenciales" in caught.value.message


def test_get_is_retried_after_503(sandbox):
    set_faults(sandbox, rules=[{"method": "GET", "path": "/company", "status": 503}])
    company = company_from_alegra(make(sandbox).get("/company"))
    assert company.rfc == "EKU9003173C9"
    assert sandbox_calls(sandbox)["calls"]["GET /company"] == 2


def test_get_gives_up_after_its_retries(sandbox):
    set_faults(sandbox, rules=[{"path": "/company", "status": 500, "times": None}])
    with pytest.raises(AlegraError) as caught:
        make(sandbox, get_retries=2).get("/company")
    assert caught.value.status == 500 and caught.value.maybe_sent
    assert sandbox_calls(sandbox)["calls"]["GET /company"] == 3


def test_post_is_never_retried_after_503(sandbox):
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "status": 503}])
    with pytest.raises(AlegraError) as caught:
        make(sandbox).post("/invoices", {"date": "2026-11-27"})
    assert caught.value.status == 503
    assert caught.value.maybe_sent is True  # the caller must verify by reading, never re-post
    assert sandbox_calls(sandbox)["calls"] == {"POST /invoices": 1}


def test_post_is_never_retried_after_a_dropped_connection(sandbox):
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "action": "drop"}])
    with pytest.raises(AlegraError) as caught:
        make(sandbox).post("/invoices", {})
    assert caught.value.kind == "connection" and caught.value.maybe_sent
    assert sandbox_calls(sandbox)["calls"] == {"POST /invoices": 1}


def test_read_timeout_is_reported_as_maybe_sent(sandbox):
    set_faults(sandbox, rules=[{"method": "POST", "path": "/invoices", "action": "delay",
                                "delay": 1.5}])
    with pytest.raises(AlegraError) as caught:
        make(sandbox, read_timeout=0.5).post("/invoices", {})
    assert caught.value.kind == "timeout" and caught.value.maybe_sent
    assert "0.5 segundos" in caught.value.message


def test_get_timeout_is_retried_then_succeeds(sandbox):
    set_faults(sandbox, rules=[{"method": "GET", "path": "/company", "action": "delay",
                                "delay": 1.0}])
    assert make(sandbox, read_timeout=0.4).get("/company")["id"] == "1"


def test_unreachable_host_is_a_connection_error_not_sent():
    client = AlegraClient("http://127.0.0.1:9/api/v1", "a@b.mx", "t", get_retries=0)
    with pytest.raises(AlegraError) as caught:
        client.post("/invoices", {})
    assert caught.value.kind == "connection" and caught.value.maybe_sent is False


def test_429_get_waits_for_the_reset_and_retries(sandbox):
    set_faults(sandbox, rate_limit=2, window=1)
    client = make(sandbox, max_rate_wait=3, get_retries=3)
    started = time.monotonic()
    for _ in range(4):
        client.get("/company")
    assert time.monotonic() - started >= 0.9
    assert sandbox_calls(sandbox)["total"] == 4  # waited on the headers, never hit 429


def test_429_on_post_is_raised_not_retried(sandbox):
    set_faults(sandbox, rate_limit=0)
    with pytest.raises(AlegraError) as caught:
        make(sandbox).post("/invoices", {})
    assert caught.value.status == 429 and caught.value.reset is not None


def test_429_on_get_is_retried_after_reset(sandbox):
    set_faults(sandbox, rules=[{"method": "GET", "path": "/company", "status": 429,
                                "body": {"code": 429, "message": "Too Many request"}}])
    started = time.monotonic()
    assert make(sandbox, max_rate_wait=0.2).get("/company")["id"] == "1"
    assert time.monotonic() - started >= 0.2  # it waited (capped) before retrying
    assert sandbox_calls(sandbox)["calls"]["GET /company"] == 2


def test_rate_limit_headers_are_remembered(sandbox):
    set_faults(sandbox, rate_limit=150)  # a fresh window, whatever earlier tests did
    client = make(sandbox)
    client.get("/company")
    window = client_module._windows[client._window_key]
    assert window.remaining == 149


def test_list_all_pages_through_30_at_a_time(sandbox):
    client = make(sandbox)
    rows = client.list_all("/taxes")
    assert len(rows) == 6 and all(isinstance(r["id"], str) for r in rows)


@pytest.mark.parametrize("body, rows", [
    ([{"id": 1}], [{"id": 1}]),
    ({"metadata": {"total": 1}, "data": [{"id": "1"}]}, [{"id": "1"}]),
    ({"total": "1", "results": [{"id": "1"}]}, [{"id": "1"}]),
    ({"unexpected": True}, []),
])
def test_unwrap_list_accepts_every_envelope(body, rows):
    assert unwrap_list(body) == rows


def test_ids_and_amounts_as_strings_or_numbers():
    assert to_id(125) == "125" and to_id("125") == "125" and to_id(125.0) == "125"
    assert to_id(None) is None
    assert to_decimal("1160.00") == Decimal("1160.00")
    assert to_decimal(1160.5) == Decimal("1160.5")
    assert to_decimal("abc") is None


def test_token_never_reaches_a_log_line_or_repr(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    set_faults(sandbox, rules=[{"path": "/company", "status": 503}])
    client = make(sandbox)
    client.get("/company")
    basic = base64.b64encode(f"{SANDBOX_EMAIL}:{SANDBOX_TOKEN}".encode()).decode()
    assert "retrying" in caplog.text  # logging did happen
    assert SANDBOX_TOKEN not in caplog.text and basic not in caplog.text
    assert SANDBOX_TOKEN not in repr(client)
