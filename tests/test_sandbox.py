"""The local Alegra sandbox is strict: auth, rate limit, pagination, persistence, faults."""
import requests

from apunto_fact.sandbox.server import SandboxServer
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import set_faults

AUTH = (SANDBOX_EMAIL, SANDBOX_TOKEN)


def get(sandbox, path, auth=AUTH, **params):
    return requests.get(sandbox.url + path, auth=auth, params=params, timeout=5)


def test_requires_basic_auth(sandbox):
    assert get(sandbox, "/company", auth=None).status_code == 401
    response = get(sandbox, "/company", auth=(SANDBOX_EMAIL, "otro"))
    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert get(sandbox, "/no-existe", auth=None).status_code == 401  # unknown paths too


def test_every_response_has_rate_limit_headers(sandbox):
    set_faults(sandbox, rate_limit=150)  # a fresh window, whatever earlier tests did
    response = get(sandbox, "/company")
    assert response.headers["X-Rate-Limit-Limit"] == "150"
    assert int(response.headers["X-Rate-Limit-Remaining"]) == 149
    assert 0 < int(response.headers["X-Rate-Limit-Reset"]) <= 60
    assert get(sandbox, "/no-existe").headers["X-Rate-Limit-Remaining"] == "148"


def test_rate_limit_answers_429_too_many_request(sandbox):
    set_faults(sandbox, rate_limit=3)
    codes = [get(sandbox, "/company").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = get(sandbox, "/company")
    assert response.json() == {"code": 429, "message": "Too Many request"}
    assert response.headers["X-Rate-Limit-Remaining"] == "0"


def test_ids_are_strings_and_money_fields_strings(sandbox):
    taxes = get(sandbox, "/taxes").json()
    assert all(isinstance(t["id"], str) for t in taxes)
    assert {t["percentage"] for t in taxes} >= {"16.00", "8.00", "0.00"}
    retentions = get(sandbox, "/retentions").json()
    assert [r["percentage"] for r in retentions].count("10.00") == 2  # duplicate ISR 10 %


def test_pagination_limit_and_metadata(sandbox):
    assert len(get(sandbox, "/taxes", start=2, limit=3).json()) == 3
    assert get(sandbox, "/taxes", limit=31).status_code == 400
    assert get(sandbox, "/taxes", limit="x").status_code == 400
    body = get(sandbox, "/taxes", metadata="true", limit=2).json()
    assert body["metadata"]["total"] == 6 and len(body["data"]) == 2
    ordered = get(sandbox, "/taxes", order_field="percentage", order_direction="DESC").json()
    assert ordered[0]["percentage"] == "26.50"


def test_seeded_catalogs(sandbox):
    assert get(sandbox, "/company").json()["identification"] == "EKU9003173C9"
    assert {c["code"] for c in get(sandbox, "/currencies").json()} == {"MXN", "USD", "EUR"}
    templates = get(sandbox, "/number-templates").json()
    assert any(t["isElectronic"] and t["documentType"] == "invoice" for t in templates)
    assert get(sandbox, "/taxes/1").json()["name"] == "IVA"
    assert get(sandbox, "/taxes/999").status_code == 404


def test_state_persists_across_restarts(tmp_path):
    path = str(tmp_path / "state.sqlite")
    first = SandboxServer(path, email="a@b.mx", token="t").start()
    first.app.extensions["sandbox"]["store"].insert("taxes", {"name": "Extra", "percentage": "3"})
    first.stop()
    second = SandboxServer(path, email="a@b.mx", token="t").start()
    try:
        names = [t["name"] for t in requests.get(second.url + "/taxes", auth=("a@b.mx", "t"),
                                                 timeout=5).json()]
        assert names.count("Extra") == 1 and names.count("IVA") == 1  # not seeded twice
    finally:
        second.stop()


def test_faults_respond_once_then_clear(sandbox):
    set_faults(sandbox, rules=[{"path": "/company", "status": 500}])
    assert get(sandbox, "/company").status_code == 500
    assert get(sandbox, "/company").status_code == 200


def test_persistent_fault_until_cleared(sandbox):
    set_faults(sandbox, rules=[{"path": "/company", "status": 402, "times": None}])
    assert [get(sandbox, "/company").status_code for _ in range(3)] == [402, 402, 402]
    set_faults(sandbox, clear=True)
    assert get(sandbox, "/company").status_code == 200


def test_latency_fault(sandbox):
    set_faults(sandbox, latency=0.3)
    assert get(sandbox, "/company").elapsed.total_seconds() >= 0.3
