"""In a real browser: tick drafts on the list, «Timbrar seleccionadas», watch the lot's
progress update live until its summary; then the month end of the issue's Done-when: 300
drafts, «Timbrar todas las listas», the queue's worker restarted midway, every one stamped once."""
import os
import re

import pytest
from playwright.sync_api import expect

from apunto_fact import jobs
from conftest import SANDBOX_EMAIL
from conftest import SANDBOX_TOKEN
from conftest import Browserless
from conftest import Invoicing
from conftest import sandbox_calls
from conftest import set_faults
from e2e.conftest import create_owner
from e2e.conftest import htmx_idle
from e2e.test_ux import PHONE
from e2e.test_ux import blocking_violations
from e2e.test_ux import overflow
from test_stamp_queue import FAST_BUDGET
from test_stamp_queue import drafts

pytestmark = pytest.mark.e2e
# The Done-when's month end: 300 drafts (about a minute here); APUNTO_E2E_LOT changes it.
LOT = int(os.environ.get("APUNTO_E2E_LOT", "300"))


@pytest.fixture
def queued_app_config(app_config):
    """The served app hands stamps to the queue; this test runs the consumer."""
    app_config.update(JOBS_IMMEDIATE=False, ALEGRA_RATE_LIMIT=FAST_BUDGET)
    return app_config


def _ready_drafts(live_app, sandbox, count):
    """Owner (made in the browser) connected to the sandbox, with count ready drafts."""
    helper = Browserless(live_app.test_client())
    helper.login()
    helper.get("/configuracion/integraciones/alegra")
    helper.post("/configuracion/integraciones/alegra", {
        "environment": "sandbox", "api_email": SANDBOX_EMAIL, "api_token": SANDBOX_TOKEN})
    set_faults(sandbox, cancel_delay=0, rate_limit=FAST_BUDGET)
    return drafts(Invoicing(helper, live_app, sandbox), count)


def test_select_drafts_then_300_with_a_worker_restart_midway_each_stamped_once(
        queued_app_config, page, live_app, sandbox, same_page):
    create_owner(page)
    ids = _ready_drafts(live_app, sandbox, LOT)
    cfdis_before = len(sandbox.app.extensions["sandbox"]["store"].all("invoices"))
    page.goto("/facturas/")
    picks = page.locator("#rows input.pick")
    expect(picks).to_have_count(25)
    for box in picks.all()[:20]:
        box.check()
    page.get_by_role("button", name="Timbrar seleccionadas").click()
    expect(page.get_by_role("heading", name="Timbrando 20 facturas…")).to_be_visible()
    expect(page.locator("#count-pending strong")).to_have_text("20")
    consumer = jobs.start_consumer(live_app)
    try:
        with same_page():  # the page polls itself: no reload, no click
            expect(page.locator("#lot-summary")).to_have_text("Terminó: 20 timbradas.",
                                                              timeout=60_000)
        expect(page.locator("#count-done strong")).to_have_text("20")
        expect(page.locator("#lot-stamped summary")).to_have_text("Timbradas (20)")
        page.goto("/facturas/")
        page.get_by_role("button", name="Timbrar todas las listas para timbrar").click()
        rest = LOT - 20
        expect(page.get_by_role("heading", name=f"Timbrando {rest} facturas…")).to_be_visible()
        page.wait_for_function(  # live progress, a third of the way
            "() => +document.querySelector('#count-done strong').textContent >= %d" % (rest // 3),
            timeout=120_000)
    finally:
        consumer.stop(graceful=True)  # the worker restarts midway: tasks stay in the store
    page.reload()  # the tab was closed and opened again: progress is in the database
    done = int(page.locator("#count-done strong").inner_text())
    assert (0 < done < rest, int(page.locator("#count-pending strong").inner_text())) == (
        True, rest - done)
    consumer = jobs.start_consumer(live_app)
    try:
        expect(page.locator("#lot-summary")).to_have_text(f"Terminó: {rest} timbradas.",
                                                          timeout=max(60_000, rest * 1_000))
    finally:
        consumer.stop(graceful=True)
    cfdis = len(sandbox.app.extensions["sandbox"]["store"].all("invoices")) - cfdis_before
    assert cfdis == len(ids)
    assert sandbox_calls(sandbox)["calls"].get("POST /invoices") == len(ids)
    page.set_viewport_size(PHONE)  # the summary on a phone: fits, and passes axe
    htmx_idle(page)
    assert (max(overflow(page), 0), blocking_violations(page)) == (0, [])
    page.goto("/")
    assert not re.search("Timbrado en curso", page.content())
    assert page.js_errors == []
