"""Participation through the gateway: a resident's own points and turns, the board (JSON and HTML), and the
workers' activities and check-ins, against the real suite."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.gateway.conftest import start_gateway

pytestmark = pytest.mark.integration

#: A reporting unit whose name tries to inject markup, and the party secretary P1 given a phone number.
EXTRA = [
    {"kind": "organisation", "id": "ORG-X", "org_kind": "public_body", "name": "<script>alert(1)</script>电信支部"},
    {"kind": "report", "id": "RPT-X", "reporter_id": "ORG-X", "community_id": "C1", "reported_on": "2026-03-01"},
]


def when(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


@pytest.fixture
def gateway(run_suite, small_district):
    records = [dict(r, phone="13700000000") if r["kind"] == "person" and r["id"] == "P1" else r
               for r in small_district]
    gw = start_gateway(run_suite, records, "participation")
    gw.suite.rpc.registry.upsert(actor="P-DATA", records=EXTRA, request_id=f"extra-{uuid.uuid4().hex[:8]}")
    return gw


def organise(gateway, role="grid_worker", headers=None, **fields):
    body = {"kind": "greening", "title": "绿化日 greening day", "community_id": "C1", "starts_at": when(hours=-2),
            "ends_at": when(hours=2), **fields}
    return gateway.call("POST", "/api/v1/activities", role, json=body, headers=headers)


def test_a_worker_organises_and_checks_in_and_the_resident_sees_their_turns_and_points(gateway):
    window = {"starts_at": when(hours=-2), "ends_at": when(hours=2)}
    created = organise(gateway, headers={"Idempotency-Key": "greening-day-1"}, **window)
    assert created.status_code == 201, created.text
    activity = created.json()["activity"]
    assert activity["organiser_id"] == "P-CW"  # the caller's person is the actor
    again = organise(gateway, headers={"Idempotency-Key": "greening-day-1"}, **window)
    assert again.status_code == 201, again.text
    assert again.json()["activity"]["id"] == activity["id"]  # a retry creates nothing twice

    listed = gateway.call("GET", "/api/v1/activities?community_id=C1", "grid_worker")
    assert listed.status_code == 200 and [a["id"] for a in listed.json()["activities"]] == [activity["id"]]

    checked = gateway.call("POST", f"/api/v1/activities/{activity['id']}/check-ins", "grid_worker",
                           json={"person_id": "P2"})
    assert checked.status_code == 200, checked.text
    assert checked.json()["attendance"]["person_id"] == "P2" and checked.json()["attendance"]["checked_in_at"]
    gateway.suite.rpc.call("participation", "record_turn", {
        "actor": "P-CW", "activity_id": activity["id"], "person_id": "P2", "hours": 2.5, "role": "volunteer",
        "request_id": f"turn-{uuid.uuid4().hex[:8]}"})

    turns = gateway.call("GET", "/api/v1/me/turns", "resident")
    assert turns.status_code == 200, turns.text
    assert [(t["person_id"], t["hours"]) for t in turns.json()["turns"]] == [("P2", 2.5)]
    assert gateway.call("GET", "/api/v1/me/turns", key="test-key-resident-P3").json()["total"] == 0  # only one's own
    deadline = time.monotonic() + 20
    while True:  # points are earned from the turn's event
        points = gateway.call("GET", "/api/v1/me/points", "resident")
        assert points.status_code == 200, points.text
        if points.json()["balance"] > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    reply = points.json()
    assert reply["person_id"] == "P2" and reply["balance"] > 0
    assert reply["balance"] == sum(e["amount"] if e["kind"] == "earn" else -e["amount"] for e in reply["entries"])


def test_a_resident_is_refused_the_workers_routes(gateway):
    activity = organise(gateway).json()["activity"]
    refused = [organise(gateway, "resident"),
               gateway.call("POST", f"/api/v1/activities/{activity['id']}/check-ins", "resident",
                            json={"person_id": "P2"}),
               gateway.call("GET", "/api/v1/activities", "resident")]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert {r.json()["error"]["code"] for r in refused} == {"permission_denied"}
    # The service's own refusal (the subdistrict officer is no organiser of C1) is a 403 too.
    assert organise(gateway, "community_admin").status_code == 403
    assert gateway.call("GET", "/api/v1/activities").status_code == 401


def test_unknown_ids_are_404_and_bad_input_422_naming_the_field(gateway):
    missing = gateway.call("POST", "/api/v1/activities/nope-1/check-ins", "grid_worker", json={"person_id": "P2"})
    assert missing.status_code == 404, missing.text
    assert gateway.call("GET", "/api/v1/communities/C404/board", "resident").status_code == 404
    assert gateway.call("GET", "/boards/C404", "resident").status_code == 404
    assert organise(gateway, community_id="C404").status_code == 404

    backwards = organise(gateway, starts_at=when(hours=2), ends_at=when(hours=1))
    assert backwards.status_code == 422, backwards.text
    unknown_kind = organise(gateway, kind="dancing")
    assert unknown_kind.status_code == 422 and unknown_kind.json()["error"]["details"]["fields"][0]["field"] == "kind"
    upcoming = organise(gateway, starts_at=when(days=1), ends_at=when(days=1, hours=2)).json()["activity"]
    early = gateway.call("POST", f"/api/v1/activities/{upcoming['id']}/check-ins", "grid_worker",
                         json={"person_id": "P2"})
    assert early.status_code in (409, 422), early.text  # not started: refused by the service
    stray = gateway.call("POST", f"/api/v1/activities/{upcoming['id']}/check-ins", "grid_worker",
                         json={"person_id": "P2", "actor": "P1"})
    assert stray.status_code == 422  # the actor is the caller, never the body's


def test_the_board_as_json_and_as_an_escaped_page_without_phone_numbers(gateway):
    board = gateway.call("GET", "/api/v1/communities/C1/board", "resident")
    assert board.status_code == 200, board.text
    assert board.json()["community_id"] == "C1"
    assert "ORG-X" in [u["id"] for u in board.json()["units"]]
    assert "1370000" not in board.text

    page = gateway.call("GET", "/boards/C1", "resident")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert html.startswith("<!doctype html>") and 'lang="zh-CN"' in html
    assert "党员公示栏" in html and html.index("党员公示栏") < html.index("Party members' board")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;电信支部" in html and "<script>" not in html
    assert "1370000" not in html and "phone" not in html.lower()
