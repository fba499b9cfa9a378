"""The workbench in headless Chromium against the real suite on the real broker (tests/web/e2e.mjs)."""

from __future__ import annotations

import pytest

from tests.web.conftest import SHOTS, browse

pytestmark = pytest.mark.integration


def test_a_resident_reports_on_a_phone_and_the_worker_dispatches_it(workbench):
    out = browse(workbench, "resident")
    assert "ok: the new ticket is in my tickets" in out and "fits 390 px" in out
    mine = workbench.call("GET", "/api/v1/tickets", "resident").json()["tickets"]
    placed = [t for t in mine if t["description"] == "楼道顶棚漏水，墙面发霉"]
    assert len(placed) == 1 and placed[0]["location"]["building_id"] == "B1"
    # The hub dispatches by hand here (auto_dispatch off): the ticket waits in the inbox.
    assert placed[0]["status"] == "submitted"

    out = browse(workbench, "worker", TICKET_ID=placed[0]["id"])
    assert "ok: the ticket is dispatched" in out
    ticket = workbench.call("GET", f"/api/v1/tickets/{placed[0]['id']}", "grid_worker").json()["ticket"]
    assert ticket["status"] == "dispatched" and ticket["handler"]["id"] == "CO1"
    assert (SHOTS / "worker-inbox.png").stat().st_size > 10_000


def test_the_company_resolves_it_and_the_resident_confirms_and_rates_it(workbench):
    ticket = workbench.submit()
    response = workbench.call("POST", f"/api/v1/tickets/{ticket['id']}/dispatch", "grid_worker", json={})
    assert response.status_code == 200 and response.json()["ticket"]["handler"]["id"] == "CO1", response.text
    out = browse(workbench, "company", "rate", TICKET_ID=ticket["id"])
    assert "ok: resolving without a summary names the field" in out
    rated = workbench.call("GET", f"/api/v1/tickets/{ticket['id']}", "resident").json()["ticket"]
    assert rated["status"] == "closed" and rated["rating"] == 5


def test_a_resident_cannot_see_the_workers_screens_nor_anothers_ticket(workbench):
    ticket = workbench.submit()  # P2's
    out = browse(workbench, "boundaries", TICKET_ID=ticket["id"])
    assert "ok: a resident is refused /app/inbox" in out
    assert "another resident's ticket is not shown by URL" in out
