"""Fixtures for the participation tests: registry + participation on the small district, plus a community
worker, a reporting unit and an in-service party member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redprop.testing.tickets import rid  # noqa: F401 - re-exported to the tests

WORKER = "W1"        # community worker of C1
SECRETARY = "P1"     # party committee member of C1 (the small district's), a party member
RESIDENT = "P2"      # not a party member
UNIT = "ORG-TEL"     # a telecom branch reporting to C1
IN_SERVICE = "P5"    # a party member working at ORG-TEL, reporting to C1


def extra_records() -> list[dict]:
    return [
        {"kind": "person", "id": WORKER, "name": "社工小陈", "phone": "13800000001"},
        {"kind": "role", "id": "RW1", "person_id": WORKER, "role": "community_worker", "scope_id": "C1",
         "term_start": "2024-01-01"},
        {"kind": "person", "id": IN_SERVICE, "name": "在职党员老周", "party_member": True, "phone": "13900000005"},
        {"kind": "organisation", "id": UNIT, "org_kind": "public_body", "name": "电信东部片区党支部"},
        {"kind": "report", "id": "RPT1", "reporter_id": UNIT, "community_id": "C1", "reported_on": "2026-03-01"},
        {"kind": "report", "id": "RPT2", "reporter_id": IN_SERVICE, "community_id": "C1", "reported_on": "2026-03-02",
         "employer_id": UNIT},
        # A second community with nobody acting in it.
        {"kind": "region", "id": "C2", "level": "community", "name": "和平社区", "parent_id": "S"},
    ]


def start(run_suite, small_district, backend="sqlite", **options):
    suite = run_suite("registry", "participation", backend=backend,
                      services={"participation": {"options": options}})
    records = [dict(r, phone="13700000000") if r["kind"] == "person" and r["id"] == SECRETARY else r
               for r in small_district]
    suite.rpc.registry.upsert(actor="P-DATA", records=records + extra_records(), request_id=rid("load"))
    return suite


def ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def later(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def activity(suite, *, actor=WORKER, starts_at=None, ends_at=None, **fields):
    body = {"actor": actor, "kind": "greening", "title": "绿化日 greening day", "community_id": "C1",
            "starts_at": starts_at or ago(hours=2), "ends_at": ends_at or later(hours=2),
            "request_id": rid("activity"), **fields}
    return suite.rpc.call("participation", "create_activity", body).activity


def serve(suite, activity_id: str, person: str, hours: float, role: str = "volunteer", organiser: str = WORKER,
          **fields):
    """Check a person in and record their turn."""
    suite.rpc.call("participation", "check_in", {"actor": organiser, "activity_id": activity_id,
                                                 "person_id": person, "request_id": rid("checkin")})
    return suite.rpc.call("participation", "record_turn", {"actor": organiser, "activity_id": activity_id,
                                                           "person_id": person, "hours": hours, "role": role,
                                                           "request_id": rid("turn"), **fields})
