"""The three-order service end to end, for each kind of handler."""

from __future__ import annotations

from decimal import Decimal

import pytest

from redprop.contracts.ticketing import Actor
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.ticketing.conftest import (
    COMPANY,
    RESIDENT,
    WORKER,
    act,
    get_ticket,
    list_tickets,
    rid,
    set_price_list,
    start_ticketing,
    submit,
)

pytestmark = pytest.mark.integration


def test_a_leak_goes_to_the_company_and_comes_back_rated_into_the_three_rates(run_suite, small_district, backend):
    suite = start_ticketing(run_suite, small_district, backend)
    set_price_list(suite, [
        {"code": "SEAL", "name": "防水密封", "unit": "m", "price": "35.50"},
        {"code": "LABOUR", "name": "人工", "unit": "hour", "price": "80.00"}])
    ticket = submit(suite)
    assert ticket.status == "dispatched"
    assert ticket.handler.id == "CO1" and ticket.handler.kind == "property_company"
    assert ticket.sla_class == "utilities" and ticket.level == "grid"
    assert ticket.location.complex_id == "X1" and ticket.location.grid_id == "G1"

    act(suite, "accept", ticket.id, COMPANY, note="明早上门")
    done = act(suite, "resolve", ticket.id, COMPANY, summary="更换密封条", funding_source="emergency_repair_fund",
               items=[{"code": "SEAL", "quantity": "4"}, {"code": "LABOUR", "quantity": "1.5"}])
    assert done.status == "resolved"
    assert done.cost == Decimal("262.00")
    closed = act(suite, "rate", ticket.id, RESIDENT, rating=5, comment="很快")
    assert closed.status == "closed" and closed.rating == 5
    assert [h.action for h in closed.history] == ["submitted", "dispatched", "accepted", "resolved", "rated"]

    stats = suite.rpc.ticketing.stats(group_by="handler")
    row = {r.key: r for r in stats.rows}["CO1"]
    assert (row.tickets, row.responded_on_time, row.resolved, row.satisfied) == (1, 1, 1, 1)
    assert (row.response_rate, row.resolution_rate, row.satisfaction_rate) == (1.0, 1.0, 1.0)
    fund = suite.rpc.ticketing.fund_usage(complex_id="X1")
    assert fund.total == Decimal("262.00")


def test_a_three_no_complex_goes_to_the_grid_team(suite):
    ticket = submit(suite, building_id="B2", category="repair_common", resident_id="P3")
    assert ticket.handler.kind == "grid_team" and ticket.handler.id == "G2"
    assert ticket.property_company_id is None


def test_utilities_go_to_the_responsible_department(suite):
    ticket = submit(suite, category="water", description="停水三天了")
    assert ticket.handler.kind == "department" and ticket.handler.id == "DEP-WATER"


def test_a_neighbour_dispute_goes_to_mediation(suite):
    ticket = submit(suite, category="neighbour_dispute", description="楼上漏水到我家，协商不成")
    assert ticket.handler.kind == "mediation"


def test_noise_goes_to_the_grid_team_and_other_to_the_community(suite):
    assert submit(suite, category="noise", description="夜间装修").handler.kind == "grid_team"
    assert submit(suite, category="other", description="建议增设座椅").handler.id == "C1"


def test_a_rejection_redispatches_and_the_second_escalates(suite):
    ticket = submit(suite, category="repair_common")
    once = act(suite, "reject", ticket.id, COMPANY, reason="不属于我们的范围")
    # The company was the only eligible unit at the grid level: nobody left until a worker decides.
    assert once.status == "submitted" and once.handler is None and once.rejections == 1
    again = act(suite, "dispatch", ticket.id, WORKER, handler={"kind": "property_company", "id": "CO1"})
    assert again.status == "dispatched"
    twice = act(suite, "reject", ticket.id, COMPANY, reason="仍然不接")
    assert twice.level == "community" and twice.handler.id == "C1" and twice.status == "dispatched"
    assert twice.history[-1].action == "dispatched"
    assert "escalated" in [h.action for h in twice.history]


def test_escalation_on_request_climbs_to_the_district_and_stops(suite):
    ticket = submit(suite)
    levels = []
    for _ in range(3):
        ticket = act(suite, "escalate", ticket.id, WORKER, reason="需要上级协调")
        levels.append((ticket.level, ticket.handler.id))
    assert levels == [("community", "C1"), ("subdistrict", "S"), ("district", "990001")]
    with pytest.raises(Conflict):
        act(suite, "escalate", ticket.id, WORKER, reason="还想再升")


def test_transfer_pause_resume_reopen_close_and_cancel(suite):
    ticket = submit(suite)
    moved = act(suite, "transfer", ticket.id, WORKER, handler={"kind": "grid_team", "id": "G1"}, reason="先由网格处理")
    assert moved.handler.id == "G1"
    # G1's grid member acts for its team (the small district has none: appointed here).
    suite.rpc.registry.upsert(actor="P-DATA", request_id=rid("grid-member"), records=[
        {"kind": "person", "id": "P-GM1", "name": "网格员"},
        {"kind": "role", "id": "R-GM1", "person_id": "P-GM1", "role": "grid_member", "scope_id": "G1",
         "term_start": "2024-01-01"}])
    team = Actor(kind="handler", handler_kind="grid_team", id="G1", person_id="P-GM1")
    act(suite, "accept", ticket.id, team)
    paused = act(suite, "note", ticket.id, team, note="住户不在家", awaiting_resident=True)
    assert paused.status == "awaiting_resident"
    resumed = act(suite, "resume", ticket.id, RESIDENT, note="我在家了")
    assert resumed.status == "in_progress" and resumed.resolution_due_at >= paused.resolution_due_at
    act(suite, "resolve", ticket.id, team, summary="已修好")
    reopened = act(suite, "reopen", ticket.id, RESIDENT, reason="又漏了")
    assert reopened.status == "dispatched" and reopened.reopen_count == 1
    act(suite, "resolve", ticket.id, team, summary="彻底修好")
    assert act(suite, "close", ticket.id, WORKER, note="住户未确认，七天后关闭").status == "closed"
    other = submit(suite, description="电梯按钮失灵", category="lift")
    assert act(suite, "cancel", other.id, RESIDENT, reason="自己好了").status == "cancelled"


# -- bad input and illegal transitions -----------------------------------------------------------------


def test_an_unknown_building_is_not_found_naming_the_field(suite):
    with pytest.raises(NotFound) as err:
        submit(suite, building_id="NO-SUCH")
    assert err.value.details["field"] == "building_id"


def test_an_unknown_resident_is_refused_naming_the_field(suite):
    with pytest.raises(PermissionDenied) as err:
        submit(suite, resident_id="NOBODY")
    assert (err.value.details["field"], err.value.details["check"]) == ("resident_id", "known")


def test_a_category_not_in_the_catalogue_is_a_validation_error(suite):
    with pytest.raises(ValidationFailed) as err:
        submit(suite, category="alien_invasion")
    assert err.value.fields[0]["field"] == "category"
    assert list_tickets(suite).total == 0


@pytest.mark.parametrize("rating", [0, 6])
def test_a_rating_outside_one_to_five_is_rejected(suite, rating):
    ticket = submit(suite)
    act(suite, "resolve", ticket.id, COMPANY, summary="done")
    with pytest.raises(ValidationFailed) as err:
        act(suite, "rate", ticket.id, RESIDENT, rating=rating)
    assert err.value.fields[0]["field"] == "rating"


def test_illegal_transitions_and_wrong_actors_are_typed_errors(suite):
    ticket = submit(suite)
    with pytest.raises(Conflict):
        act(suite, "rate", ticket.id, RESIDENT, rating=5)       # rating an unresolved ticket
    stranger = Actor(kind="handler", handler_kind="property_company", id="CO-OTHER", person_id="P-CS")
    with pytest.raises(PermissionDenied):
        act(suite, "resolve", ticket.id, stranger, summary="不是我的单")  # a unit resolving a ticket it does not hold
    with pytest.raises(PermissionDenied):
        act(suite, "accept", ticket.id, RESIDENT)
    act(suite, "resolve", ticket.id, COMPANY, summary="ok")
    with pytest.raises(NotFound):  # someone else's ticket: as if there were none
        act(suite, "rate", ticket.id, Actor(kind="resident", id="P3"), rating=1)
    with pytest.raises(NotFound):
        act(suite, "accept", "T-NOPE", COMPANY)
    assert [h.action for h in get_ticket(suite, ticket.id).history] == [
        "submitted", "dispatched", "resolved"]


def test_the_fund_pays_for_common_parts_only_and_prices_must_be_listed(suite):
    set_price_list(suite, [
        {"code": "TAP", "name": "水龙头", "unit": "个", "price": "45"}])
    ticket = submit(suite, category="repair_home", description="厨房水龙头坏了")
    with pytest.raises(ValidationFailed) as err:
        act(suite, "resolve", ticket.id, COMPANY, summary="换了", funding_source="emergency_repair_fund")
    assert err.value.fields[0]["field"] == "funding_source"
    with pytest.raises(ValidationFailed) as err:
        act(suite, "resolve", ticket.id, COMPANY, summary="换了", items=[{"code": "GOLD", "quantity": 1}])
    assert err.value.fields[0]["field"] == "items.0.code"
    assert get_ticket(suite, ticket.id).status == "dispatched"
