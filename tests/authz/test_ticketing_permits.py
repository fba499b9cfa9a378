"""Ticketing's permits and record-level rules, against the real registry (redprop.authz): residents refused
the workers' and handlers' steps, a worker of another community and another company's staff refused, another
resident's ticket not found exactly as a missing one, and the right people accepted. Real broker; SQLite and
PostgreSQL for the main flow."""

from __future__ import annotations

import pytest

from redprop.contracts.ticketing import Actor
from redprop.errors import Conflict, NotFound, PermissionDenied
from redprop.testing.tickets import (
    COMPANY,
    RESIDENT,
    WORKER,
    act,
    get_ticket,
    list_tickets,
    rid,
    set_price_list,
    submit,
    sweep,
)
from tests.ticketing.conftest import start_ticketing

pytestmark = pytest.mark.integration

#: A second community with its own company, worker and company staff (the small district has one of each).
ELSEWHERE = [
    {"kind": "region", "id": "C2", "level": "community", "name": "和平社区", "parent_id": "S"},
    {"kind": "organisation", "id": "CO2", "org_kind": "property_company", "name": "和平物业", "scope_id": "C2"},
    {"kind": "complex", "id": "X3", "name": "和平小区", "community_id": "C2", "property_company_id": "CO2"},
    {"kind": "grid", "id": "G3", "name": "第三网格", "community_id": "C2", "complex_id": "X3"},
    {"kind": "building", "id": "B3", "name": "3号楼", "complex_id": "X3", "grid_id": "G3", "lat": 31.02,
     "lon": 121.02},
    {"kind": "person", "id": "P-CW2", "name": "另一社区工作者"},
    {"kind": "person", "id": "P-CS2", "name": "另一物业员工"},
    {"kind": "role", "id": "R-CW2", "person_id": "P-CW2", "role": "community_worker", "scope_id": "C2",
     "term_start": "2024-01-01"},
    {"kind": "role", "id": "R-CS2", "person_id": "P-CS2", "role": "company_staff", "organisation_id": "CO2",
     "term_start": "2024-01-01"},
]
OTHER_WORKER = Actor(kind="worker", id="P-CW2")
OTHER_COMPANY = Actor(kind="handler", handler_kind="property_company", id="CO2", person_id="P-CS2")
MANAGER = Actor(kind="handler", handler_kind="property_company", id="CO1", person_id="P-CM")
NEIGHBOUR = Actor(kind="resident", id="P3")
ITEMS = [{"code": "SEAL", "name": "防水密封", "unit": "m", "price": "35.50"}]

#: The workers' and handlers' steps, with what each needs besides the actor.
STAFF_STEPS = {"dispatch": {}, "close": {}, "merge": {"original_id": "T-ANY"},
               "transfer": {"handler": {"kind": "grid_team", "id": "G1"}, "reason": "先由网格处理"}}
HANDLER_STEPS = {"accept": {}, "reject": {"reason": "不归我们管"}, "resolve": {"summary": "已修好"}}


def start(run_suite, small_district, backend="sqlite"):
    suite = start_ticketing(run_suite, small_district, backend=backend)
    suite.rpc.registry.upsert(actor="P-DATA", records=ELSEWHERE, request_id=rid("elsewhere"))
    return suite


@pytest.fixture
def suite(run_suite, small_district):
    return start(run_suite, small_district)


def refused(suite, operation, ticket_id, actor, **fields) -> dict:
    with pytest.raises(PermissionDenied) as err:
        act(suite, operation, ticket_id, actor, **fields)
    return err.value.details


def test_the_right_people_take_a_ticket_through_its_life(run_suite, small_district, backend):
    suite = start(run_suite, small_district, backend)
    set_price_list(suite, ITEMS)  # the district officer sets the district's list
    ticket = submit(suite)
    assert (ticket.status, ticket.handler.id) == ("dispatched", "CO1")
    assert act(suite, "accept", ticket.id, COMPANY).status == "in_progress"        # CO1's staff
    act(suite, "note", ticket.id, MANAGER, note="明天上午上门")                       # CO1's manager
    act(suite, "resolve", ticket.id, MANAGER, summary="已修好", items=[{"code": "SEAL", "quantity": "2"}])
    assert act(suite, "rate", ticket.id, RESIDENT, rating=5).status == "closed"     # the resident who placed it
    for viewer in (RESIDENT, WORKER, COMPANY):
        assert get_ticket(suite, ticket.id, viewer).id == ticket.id
    # A worker entering a ticket for a resident acts as themself, in a place their post covers.
    entered = submit(suite, resident_id="P3", entered_by="P-CW", building_id="B2", category="repair_common")
    assert entered.history[0].detail["entered_by"] == "P-CW"
    assert act(suite, "dispatch", entered.id, WORKER, handler={"kind": "community", "id": "C1"}).handler.id == "C1"
    office = Actor(kind="handler", handler_kind="community", id="C1", person_id="P-CW")
    assert act(suite, "accept", entered.id, office).status == "in_progress"
    assert sweep(suite).examined >= 0  # the operator


def test_a_resident_is_refused_every_workers_and_handlers_step(suite):
    ticket = submit(suite)
    for operation, fields in {**STAFF_STEPS, **HANDLER_STEPS}.items():
        details = refused(suite, operation, ticket.id, RESIDENT, **fields)
        assert (details["check"], details["field"]) == ("role", "actor.person"), operation
        # Claiming to be a worker or to act for the company does not help: P2 holds no post.
        for claim in (Actor(kind="worker", id="P2"),
                      Actor(kind="handler", handler_kind="property_company", id="CO1", person_id="P2")):
            assert refused(suite, operation, ticket.id, claim, **fields)["check"] == "role", operation
    # P1 holds posts (a building leader of G2) but none in CO1: refused by the record.
    p1_for_company = Actor(kind="handler", handler_kind="property_company", id="CO1", person_id="P1")
    assert refused(suite, "accept", ticket.id, p1_for_company)["field"] == "actor.person_id"
    # The service itself is no caller's to be.
    assert refused(suite, "dispatch", ticket.id, Actor(kind="system", id="ticketing"))["check"] == "known"
    # A resident neither sweeps nor sets prices.
    with pytest.raises(PermissionDenied) as err:
        sweep(suite, actor="P2")
    assert err.value.details["check"] == "role"
    with pytest.raises(PermissionDenied):
        set_price_list(suite, ITEMS, actor="P2")
    assert get_ticket(suite, ticket.id).status == "dispatched" and len(get_ticket(suite, ticket.id).history) == 2


def test_a_worker_of_another_community_is_refused_by_scope(suite):
    ticket = submit(suite)
    for operation, fields in STAFF_STEPS.items():
        details = refused(suite, operation, ticket.id, OTHER_WORKER, **fields)
        assert (details["check"], details["within"]) == ("scope", "B1"), operation
    # Nor may they enter a ticket for a resident of C1; their own community's building is theirs.
    with pytest.raises(PermissionDenied) as err:
        submit(suite, entered_by="P-CW2")
    assert (err.value.details["field"], err.value.details["check"]) == ("entered_by", "scope")
    own = submit(suite, entered_by="P-CW2", building_id="B3", resident_id="P3")
    # They read and list only the tickets of the places their posts cover.
    with pytest.raises(NotFound):
        get_ticket(suite, ticket.id, OTHER_WORKER)
    assert [t.id for t in list_tickets(suite, OTHER_WORKER).tickets] == [own.id]
    assert {t.id for t in list_tickets(suite, WORKER).tickets} == {ticket.id}


def test_a_companys_staff_cannot_touch_another_companys_ticket(suite):
    ticket = submit(suite)
    other = submit(suite, building_id="B3", resident_id="P3")
    assert other.handler.id == "CO2"
    for operation, fields in HANDLER_STEPS.items():
        # Acting for their own company: CO1's ticket is not theirs to see.
        with pytest.raises(NotFound):
            act(suite, operation, ticket.id, OTHER_COMPANY, **fields)
        # Claiming CO1: they hold no post in it.
        claim = Actor(kind="handler", handler_kind="property_company", id="CO1", person_id="P-CS2")
        assert refused(suite, operation, ticket.id, claim, **fields)["check"] == "role", operation
    with pytest.raises(NotFound):
        get_ticket(suite, ticket.id, OTHER_COMPANY)
    assert [t.id for t in list_tickets(suite, OTHER_COMPANY).tickets] == [other.id]
    assert [t.id for t in list_tickets(suite, COMPANY).tickets] == [ticket.id]
    # A company's list is its manager's to set; another company's or the district's is not.
    assert set_price_list(suite, ITEMS, company_id="CO1", actor="P-CM").company_id == "CO1"
    for company_id in ("CO2", None):
        with pytest.raises(PermissionDenied) as err:
            set_price_list(suite, ITEMS, company_id=company_id, actor="P-CM")
        assert err.value.details["check"] == "scope"
    with pytest.raises(PermissionDenied):
        set_price_list(suite, ITEMS, company_id="CO1", actor="P-CS")  # staff, not the manager


def test_another_residents_ticket_is_not_found_exactly_as_a_missing_one(suite):
    ticket = submit(suite)

    def not_found(call) -> dict:
        with pytest.raises(NotFound) as err:
            call()
        return {**err.value.details, "id": None}, str(err.value).replace(err.value.details["id"], "?")

    missing = not_found(lambda: get_ticket(suite, "T-NOPE", NEIGHBOUR))
    assert not_found(lambda: get_ticket(suite, ticket.id, NEIGHBOUR)) == missing
    # A step that would be a conflict on its status (rating an unresolved ticket) is not found too.
    for operation, fields in (("rate", {"rating": 1}), ("cancel", {"reason": "不要了"}),
                              ("reopen", {"reason": "又坏了"}), ("note", {"note": "我也是"})):
        assert not_found(lambda o=operation, f=fields: act(suite, o, ticket.id, NEIGHBOUR, **f)) == not_found(
            lambda o=operation, f=fields: act(suite, o, "T-NOPE", NEIGHBOUR, **f)), operation
    with pytest.raises(Conflict):  # its own resident learns the status
        act(suite, "rate", ticket.id, RESIDENT, rating=1)
    assert list_tickets(suite, NEIGHBOUR).total == 0
    assert list_tickets(suite, NEIGHBOUR, resident_id="P2").total == 0
    assert list_tickets(suite, RESIDENT).total == 1
    # Anonymous statistics stay public.
    assert suite.rpc.ticketing.stats(group_by="complex").total.tickets == 1
