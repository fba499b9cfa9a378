"""Ticketing's resolutions paid from the emergency repair fund draw from the projects ledger
(``services.ticketing.options.fund_ledger: projects``): refused when the fund cannot pay, nothing written."""

from __future__ import annotations

import pytest

from redprop.contracts.ticketing import Actor
from redprop.errors import Conflict, NotFound
from redprop.testing.tickets import COMPANY, WORKER, act, submit
from tests.projects.conftest import fund, rid, start

pytestmark = pytest.mark.integration

#: The company's staff member P-CS resolving for CO1 (the test district's officials).
STAFF = Actor(kind="handler", handler_kind="property_company", id="CO1", person_id="P-CS")


def test_an_emergency_fund_resolution_draws_from_the_ledger_and_is_refused_when_empty(run_suite, district_records):
    suite = start(run_suite, district_records, "ticketing", "projects",
                  services={"ticketing": {"options": {"fund_ledger": "projects"}}})
    suite.rpc.ticketing.set_price_list(actor="P-DO", request_id=rid(), items=[
        {"code": "SEAL", "name": "防水密封", "unit": "m", "price": "35.50"}])
    ticket = submit(suite)
    act(suite, "accept", ticket.id, COMPANY)

    def resolve(actor=STAFF):
        return act(suite, "resolve", ticket.id, actor, summary="更换密封条", funding_source="emergency_repair_fund",
                   items=[{"code": "SEAL", "quantity": "4"}])

    with pytest.raises(ValueError, match="person_id"):  # public money, like every step, names the person resolving
        Actor(kind="handler", handler_kind="property_company", id="CO1")
    with pytest.raises(NotFound) as err:          # X1 has no emergency fund yet
        resolve()
    assert err.value.details["field"] == "complex_id"
    fund(suite.rpc, amount=10_000)                 # 100 yuan: less than the 142 yuan repair
    with pytest.raises(Conflict, match="holds 10000 fen"):
        resolve()
    assert suite.rpc.ticketing.get(viewer=WORKER.model_dump(), ticket_id=ticket.id).ticket.status == "in_progress"   # nothing written
    suite.rpc.projects.allocate(request_id=rid(), fund_id="F-EM-X1", year=2026, amount=10_000, actor="DO1")
    done = resolve()
    assert done.status == "resolved" and str(done.cost) == "142.00"
    [draw] = suite.rpc.projects.ledger(serves_kind="ticket", serves_id=ticket.id).movements
    assert (draw.amount, draw.status, draw.actor, draw.balance_after) == (14_200, "paid", "P-CS", 5_800)
    assert suite.rpc.ticketing.fund_usage(complex_id="X1").total == done.cost   # ticketing's own record agrees


def test_without_the_ledger_option_ticketing_records_the_fund_use_alone(run_suite, district_records):
    suite = start(run_suite, district_records, "ticketing")
    suite.rpc.ticketing.set_price_list(actor="P-DO", request_id=rid(), items=[
        {"code": "SEAL", "name": "防水密封", "unit": "m", "price": "35.50"}])
    ticket = submit(suite)
    done = act(suite, "resolve", ticket.id, COMPANY, summary="更换密封条", funding_source="emergency_repair_fund",
               items=[{"code": "SEAL", "quantity": "1"}])
    assert done.status == "resolved"


def test_with_the_ledger_down_the_resolve_is_unavailable_and_nothing_is_written(run_suite, district_records):
    from redprop.errors import Unavailable

    suite = start(run_suite, district_records, "ticketing", messaging={"rpc_timeout": 2},
                  services={"ticketing": {"options": {"fund_ledger": "projects"}}})
    suite.rpc.ticketing.set_price_list(actor="P-DO", request_id=rid(), items=[
        {"code": "SEAL", "name": "防水密封", "unit": "m", "price": "35.50"}])
    ticket = submit(suite)
    with pytest.raises(Unavailable):
        act(suite, "resolve", ticket.id, STAFF, summary="更换密封条", funding_source="emergency_repair_fund",
            items=[{"code": "SEAL", "quantity": "1"}])
    after = suite.rpc.ticketing.get(viewer=WORKER.model_dump(), ticket_id=ticket.id).ticket
    assert after.status == "dispatched" and after.cost is None
    assert suite.rpc.ticketing.fund_usage(complex_id="X1").total == 0
    # Paid by the company, a resolve needs no ledger.
    assert act(suite, "resolve", ticket.id, COMPANY, summary="更换密封条",
               items=[{"code": "SEAL", "quantity": "1"}]).status == "resolved"
