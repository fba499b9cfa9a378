"""The workbench in headless Chromium against the real suite on the real broker (tests/web/e2e.mjs)."""

from __future__ import annotations

import pytest

from tests.gateway.photo_files import GPS, png
from tests.web.conftest import SHOTS, browse

pytestmark = pytest.mark.integration


def test_a_resident_reports_on_a_phone_and_the_worker_dispatches_it(workbench, tmp_path):
    photo = tmp_path / "leak.png"
    photo.write_bytes(png(width=320, height=240, rgb=(90, 140, 170)))  # with EXIF holding a GPS position
    out = browse(workbench, "resident", PHOTO=str(photo))
    assert "ok: the new ticket is in my tickets" in out and "fits 390 px" in out
    assert "ok: the photo is previewed before sending" in out and "ok: my ticket shows my photo" in out
    mine = workbench.call("GET", "/api/v1/tickets", "resident").json()["tickets"]
    placed = [t for t in mine if t["description"] == "楼道顶棚漏水，墙面发霉"]
    assert len(placed) == 1 and placed[0]["location"]["building_id"] == "B1"
    # The hub dispatches by hand here (auto_dispatch off): the ticket waits in the inbox.
    assert placed[0]["status"] == "submitted"
    photos = workbench.call("GET", f"/api/v1/tickets/{placed[0]['id']}/photos", "resident").json()["photos"]
    assert [p["content_type"] for p in photos] == ["image/png"]
    stored = workbench.call("GET", photos[0]["url"], "grid_worker").content
    assert stored[:8] == b"\x89PNG\r\n\x1a\n" and GPS not in stored

    out = browse(workbench, "worker", TICKET_ID=placed[0]["id"], PHOTO=str(photo))
    assert "ok: the ticket is dispatched" in out and "ok: the worker sees the resident's photo" in out
    assert (SHOTS / "worker-photo.png").stat().st_size > 10_000
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
