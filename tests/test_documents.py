"""The shared document machinery: state table, the one transition function, attempts, owners."""
import ast
import datetime
import pathlib
import subprocess
import sys
import threading

import pytest

from apunto_fact import create_app
from apunto_fact import documents
from apunto_fact.config import ConfigError
from apunto_fact.documents import Problem
from apunto_fact.documents import owner
from apunto_fact.documents.states import TRANSITIONS
from apunto_fact.extensions import db
from apunto_fact.invoices.models import Invoice

PACKAGE = pathlib.Path(documents.__file__).resolve().parents[1]
# Attributes called "status" that are not a document's: the HTTP status of an Alegra error
# and the state of the Alegra connection.
NOT_DOCUMENT_STATUS = {("alegra/client.py", "self.status"), ("settings/alegra.py", "conn.status")}


DOCUMENT_MODELS = {m.class_.__name__ for m in db.Model.registry.mappers
                   if issubclass(m.class_, documents.StatefulDocument)}


def _status_writes():
    """Every place in the package that writes a status/version, as (file, code)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("sandbox/") or relative == "documents/transition.py":
            continue  # the sandbox plays Alegra; transition.py is the one allowed writer
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                for element in elements:
                    if isinstance(element, ast.Attribute) and element.attr in (
                            "status", "version"):
                        code = ast.unparse(element)
                        if (relative, code) not in NOT_DOCUMENT_STATUS:
                            found.append((relative, code))
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg in ("status", "version") and _writes_rows(node):
                        found.append((relative, ast.unparse(node)[:80]))
    return found


def _writes_rows(call):
    """A call that writes table rows: .values(...), .update(...), or a model constructor."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in ("values", "update", "filter_by"):
        return func.attr != "filter_by"
    return isinstance(func, ast.Name) and func.id in DOCUMENT_MODELS


def test_no_status_write_outside_the_transition_function():
    assert _status_writes() == []


def test_the_scan_sees_a_status_write(tmp_path):
    # The scan itself must be able to fail: the same walk over a file that assigns status.
    tree = ast.parse("invoice.status = 'stamped'\nInvoice(status='draft')\n")
    assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)]
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _writes_rows(n)]
    assert (len(assigns), len(calls), "Invoice" in DOCUMENT_MODELS) == (1, 1, True)


def test_direct_assignment_to_status_or_version_is_refused(app):
    with app.app_context():
        invoice = Invoice()
        with pytest.raises(AttributeError):
            invoice.status = "stamped"
        with pytest.raises(AttributeError):
            invoice.version = 7


def test_state_table_matches_the_design():
    assert TRANSITIONS["draft"] == {"queued", "stamping", "stamped"}
    assert TRANSITIONS["stamping"] == {"stamped", "rejected", "unknown", "draft"}
    assert TRANSITIONS["unknown"] == {"stamped", "rejected", "draft"}
    assert TRANSITIONS["cancelled"] == set()
    assert documents.states.sources("cancelled") == {"cancel_pending"}


def _draft_invoice():
    invoice = Invoice(date=datetime.date(2026, 11, 28), uso_cfdi="G03", metodo_pago="PUE",
                      forma_pago="03")
    db.session.add(invoice)
    db.session.commit()
    return invoice


def test_transition_wins_once_and_bumps_version(app):
    with app.app_context():
        invoice = _draft_invoice()
        assert (invoice.status, invoice.version) == ("draft", 1)
        assert documents.transition(invoice, "stamping", version=1) is True
        assert (invoice.status, invoice.version) == ("stamping", 2)
        assert documents.transition(invoice, "stamping", version=2) is False
        assert (invoice.status, invoice.version) == ("stamping", 2)


def test_transition_refuses_a_stale_version(app):
    with app.app_context():
        invoice = _draft_invoice()
        assert documents.touch(invoice, 1, commit=True) is True
        assert documents.transition(invoice, "stamping", version=1) is False
        assert (invoice.status, invoice.version) == ("draft", 2)


def test_transition_refuses_what_the_table_does_not_allow(app):
    with app.app_context():
        invoice = _draft_invoice()
        with pytest.raises(documents.IllegalTransition):
            documents.transition(invoice, "cancelled", only_from=("draft",))
        with pytest.raises(documents.IllegalTransition):
            documents.transition(invoice, "flying")
        # allowed by the table, but not from where the invoice is: refused, not raised
        assert documents.transition(invoice, "cancel_pending") is False


def test_transition_writes_problem_values_in_the_same_update(app):
    with app.app_context():
        invoice = _draft_invoice()
        documents.transition(invoice, "stamping")
        documents.transition(invoice, "rejected", **documents.problem_values(
            Problem.SAT, "Nombre incorrecto", "customer.name", "CFDI40145"))
        assert (invoice.status, invoice.problem, invoice.problem_ref) == (
            "rejected", Problem.SAT, "CFDI40145")


def test_racing_threads_one_claim_wins(app):
    with app.app_context():
        invoice_id = _draft_invoice().id
    results, barrier = [], threading.Barrier(6)

    def claim():
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            barrier.wait()
            results.append(documents.transition(invoice, "stamping", version=1))
            db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_problem_codes_know_heading_and_source():
    assert Problem("alegra").heading == "Alegra respondió"
    assert Problem.INTERNAL.heading == "Error de esta aplicación"
    assert [p.value for p in Problem if p.from_alegra] == [
        "alegra", "sat", "rate", "cancelacion-rechazada", "duplicada", "totales-distintos"]
    assert Problem.of("nonsense") is None


def test_attempts_are_kept_per_document(app):
    with app.app_context():
        invoice = _draft_invoice()
        documents.StampAttempt.open_for(invoice, "m1", 1, lookup={"date": "2026-11-28"})
        documents.StampAttempt.open_for(invoice, "m2", 3)
        db.session.commit()
        attempts = invoice.attempts()
        assert [(a.marker, a.version, a.lookup_params) for a in attempts] == [
            ("m1", 1, {"date": "2026-11-28"}), ("m2", 3, {})]


def test_owner_this_process_is_dead_for_a_marker_no_thread_holds():
    owner.hold("held")
    try:
        assert owner.sender_dead(owner.me(), "held") is False
        assert owner.sender_dead(owner.me(), "released") is True
    finally:
        owner.release("held")


def test_owner_of_an_exited_process_is_dead_and_a_running_one_alive():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        identity = owner._identity(child.pid)
        assert owner.sender_dead(identity, "m") is False
    finally:
        child.communicate(b"")
    assert owner.sender_dead(identity, "m") is True


def test_owner_on_another_machine_is_presumed_alive():
    assert owner.sender_dead("other-host|1|123|1.000", "m") is False


def test_grace_is_derived_from_the_stamp_timeouts(app_config):
    app = create_app({**app_config, "ALEGRA_CONNECT_TIMEOUT": 2, "ALEGRA_STAMP_TIMEOUT": 10,
                      "RECONCILE_MARGIN_SECONDS": 3})
    assert app.config["RECONCILE_GRACE_SECONDS"] == 15


def test_a_grace_shorter_than_the_post_could_take_is_refused_at_start(app_config):
    with pytest.raises(ConfigError, match="RECONCILE_GRACE_SECONDS=20"):
        create_app({**app_config, "ALEGRA_STAMP_TIMEOUT": 60, "RECONCILE_GRACE_SECONDS": 20})
