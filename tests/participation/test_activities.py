"""Activities, check-in and turns over the real broker and database; totals per person, unit and community
in Beijing years and months, across a year boundary."""

from __future__ import annotations

import pytest

from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.participation.conftest import (
    RESIDENT,
    SECRETARY,
    WORKER,
    activity,
    ago,
    later,
    rid,
    serve,
    start,
)


def _fields(exc) -> list[str]:
    return [f["field"] for f in exc.value.fields]


def test_turns_and_totals_across_beijing_new_year(run_suite, small_district, backend):
    suite = start(run_suite, small_district, backend)
    p = suite.rpc.participation
    # 2025-12-31 16:30 UTC is 00:30 on 1 January 2026 in Beijing; 15:30 UTC is still 2025 there.
    new_year = activity(suite, starts_at="2025-12-31T16:30:00+00:00", ends_at="2025-12-31T20:00:00+00:00",
                        title="元旦清扫")
    old_year = activity(suite, starts_at="2025-12-31T15:30:00+00:00", ends_at="2025-12-31T16:00:00+00:00",
                        title="跨年巡逻", kind="patrol")
    turn = serve(suite, new_year.id, RESIDENT, 2.5).turn
    assert (turn.year, turn.month, turn.hours) == (2026, "2026-01", 2.5)
    serve(suite, new_year.id, "P3", 1)
    serve(suite, new_year.id, SECRETARY, 3, role="party_member")
    serve(suite, old_year.id, RESIDENT, 0.5)

    this_year = p.totals(scope="community", id="C1", period="2026", role="volunteer")
    assert (this_year.turns, this_year.hours, this_year.people) == (2, 3.5, 2)
    assert p.totals(scope="community", id="C1", period="2025").turns == 1
    everyone = p.totals(scope="community", id="C1", period="2026-01")
    assert (everyone.turns, everyone.hours) == (3, 6.5)
    assert {r.role: r.turns for r in everyone.by_role} == {"party_member": 1, "volunteer": 2}
    assert p.totals(scope="person", id=RESIDENT, period="2026").hours == 2.5
    assert p.totals(scope="person", id=RESIDENT, period="2025-12").hours == 0.5
    assert p.totals(scope="district", id="990001", period="2026").turns == 3
    assert [t.year for t in p.list_turns(person_id=RESIDENT).turns] == [2026, 2025]
    got = p.get_activity(activity_id=new_year.id).activity
    assert (got.checked_in, got.turns, got.hours) == (3, 3, 6.5)


def test_sign_up_and_check_in_rules(run_suite, small_district):
    suite = start(run_suite, small_district)
    p = suite.rpc.participation
    upcoming = activity(suite, starts_at=later(hours=1), ends_at=later(hours=3))
    signed = p.sign_up(actor=RESIDENT, activity_id=upcoming.id, request_id=rid("signup")).attendance
    assert signed.signed_up_at is not None and signed.checked_in_at is None
    with pytest.raises(ValidationFailed) as exc:  # none before the start
        p.check_in(actor=WORKER, activity_id=upcoming.id, person_id=RESIDENT, request_id=rid("ci"))
    assert _fields(exc) == ["activity_id"] and "not started" in exc.value.fields[0]["message"]
    with pytest.raises(PermissionDenied):  # an unknown person (redprop.authz, against the registry)
        p.sign_up(actor="NOBODY", activity_id=upcoming.id, request_id=rid("signup"))

    running = activity(suite)
    with pytest.raises(PermissionDenied):  # only the organiser checks in
        p.check_in(actor=SECRETARY, activity_id=running.id, person_id=RESIDENT, request_id=rid("ci"))
    with pytest.raises(ValidationFailed) as exc:  # a turn needs a check-in
        p.record_turn(actor=WORKER, activity_id=running.id, person_id=RESIDENT, hours=1, role="volunteer",
                      request_id=rid("turn"))
    assert _fields(exc) == ["person_id"]
    serve(suite, running.id, RESIDENT, 1)
    with pytest.raises(Conflict):  # one turn per person and activity
        p.record_turn(actor=WORKER, activity_id=running.id, person_id=RESIDENT, hours=1, role="volunteer",
                      request_id=rid("turn"))
    with pytest.raises(PermissionDenied):  # the party_member role is for party members
        serve(suite, running.id, "P3", 1, role="party_member")


def test_organising_is_for_workers_and_party_committee(run_suite, small_district):
    suite = start(run_suite, small_district)
    with pytest.raises(PermissionDenied) as exc:  # a resident cannot organise
        activity(suite, actor=RESIDENT)
    assert exc.value.details["field"] == "actor"
    with pytest.raises(PermissionDenied):  # the worker of C1 has no post in C2
        activity(suite, community_id="C2")
    assert activity(suite, actor=SECRETARY).organiser_id == SECRETARY


def test_bad_input_names_the_field(run_suite, small_district):
    suite = start(run_suite, small_district)
    p = suite.rpc.participation
    with pytest.raises(ValidationFailed) as exc:
        activity(suite, starts_at=ago(hours=1), ends_at=ago(hours=2))
    assert "ends_at" in str(exc.value.fields)
    with pytest.raises(NotFound) as exc:
        activity(suite, community_id="NOWHERE")
    assert exc.value.details["field"] == "community_id"
    with pytest.raises(PermissionDenied):  # a subdistrict is no community, and no post of W1 covers it
        activity(suite, community_id="S")
    with pytest.raises(NotFound) as exc:
        activity(suite, complex_id="X-NONE")
    assert exc.value.details["field"] == "complex_id"
    running = activity(suite)
    p.check_in(actor=WORKER, activity_id=running.id, person_id=RESIDENT, request_id=rid("ci"))
    for hours in (-1, 0, 25, 0.3):
        with pytest.raises(ValidationFailed) as exc:
            p.record_turn(actor=WORKER, activity_id=running.id, person_id=RESIDENT, hours=hours, role="volunteer",
                          request_id=rid("turn"))
        assert _fields(exc) == ["hours"]
    with pytest.raises(NotFound) as exc:  # an activity of another district (or none) is not found here
        p.check_in(actor=WORKER, activity_id="elsewhere-1", person_id=RESIDENT, request_id=rid("ci"))
    assert exc.value.details["field"] == "activity_id"
    with pytest.raises(ValidationFailed) as exc:
        p.totals(scope="community", id="C1", period="2026-13")
    assert _fields(exc) == ["period"]
    with pytest.raises(ValidationFailed) as exc:
        p.totals(scope="district", id="990002", period="2026")
    assert _fields(exc) == ["id"]
    # Nothing half-written: the refused activities left no rows.
    assert p.list_activities(community_id="C1").total == 1
