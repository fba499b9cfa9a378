"""Funds over the real broker: no overdraft under concurrency, approvals at the threshold, the law of the
maintenance fund, permissions and bad input."""

from __future__ import annotations

import eventlet
import pytest

from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.projects.conftest import fund, rid, start

pytestmark = pytest.mark.integration


def test_25_concurrent_draws_of_100_on_1000_pay_exactly_10(run_suite, district_records, backend):
    suite = start(run_suite, district_records, "projects", backend=backend)
    fund(suite.rpc, amount=1000)

    def draw(n):
        with suite.client() as rpc:
            try:
                rpc.projects.draw_for_ticket(request_id=f"draw-{n:04d}", ticket_id=f"T-{n}", complex_id="X1",
                                             amount=100, actor="CW1")
                return "paid"
            except Conflict as exc:
                assert exc.details["field"] == "amount"
                return "refused"

    outcomes = list(eventlet.GreenPool(25).imap(draw, range(25)))
    assert outcomes.count("paid") == 10 and outcomes.count("refused") == 15
    after = suite.rpc.projects.get_fund(fund_id="F-EM-X1").fund
    assert (after.balance, after.drawn, after.allocated) == (0, 1000, 1000)
    ledger = suite.rpc.projects.ledger(fund_id="F-EM-X1", limit=100).movements
    draws = [m for m in ledger if m.kind == "draw"]
    assert len(draws) == 10 and all(m.serves.kind == "ticket" and m.status == "paid" for m in draws)
    assert sorted(m.balance_after for m in draws) == list(range(0, 1000, 100))


def test_a_retried_draw_is_counted_once(projects):
    rpc = projects.rpc
    fund(rpc, amount=1000)
    first = rpc.projects.draw_for_ticket(request_id="ticket-fund:T-1:0", ticket_id="T-1", complex_id="X1",
                                         amount=300, actor="CW1")
    again = rpc.projects.draw_for_ticket(request_id="ticket-fund:T-1:0", ticket_id="T-1", complex_id="X1",
                                         amount=300, actor="CW1")
    assert again.movement.id == first.movement.id
    assert rpc.projects.get_fund(fund_id="F-EM-X1").fund.balance == 700


def test_approval_above_5000_yuan_exactly_at_the_boundary(projects):
    rpc = projects.rpc.projects
    fund(projects.rpc, "F-Q-X1", "quality_improvement", amount=2_000_000)
    serves = {"kind": "decision", "id": "M-1"}
    at = rpc.draw(request_id=rid(), fund_id="F-Q-X1", amount=500_000, serves=serves, purpose="绿篱", actor="CW1")
    assert at.movement.status == "paid" and at.movement.awaiting == []        # 5,000.00 yuan: not above
    above = rpc.draw(request_id=rid(), fund_id="F-Q-X1", amount=500_001, serves=serves, purpose="路面", actor="CW1")
    mv = above.movement
    assert mv.status == "pending_approval" and mv.awaiting == ["community", "subdistrict"]  # 5,000.01 yuan
    # Held: out of the balance already, not yet drawn.
    assert (above.fund.balance, above.fund.held, above.fund.drawn) == (999_999, 500_001, 500_000)

    with pytest.raises(PermissionDenied) as err:        # a community worker is no subdistrict approver
        rpc.approve_draw(request_id=rid(), movement_id=mv.id, level="subdistrict", actor="CW1")
    assert err.value.details["field"] == "actor"
    half = rpc.approve_draw(request_id=rid(), movement_id=mv.id, level="community", actor="BOTH").movement
    assert half.status == "pending_approval" and half.awaiting == ["subdistrict"]
    with pytest.raises(PermissionDenied, match="two different people"):
        rpc.approve_draw(request_id=rid(), movement_id=mv.id, level="subdistrict", actor="BOTH")
    with pytest.raises(Conflict):
        rpc.approve_draw(request_id=rid(), movement_id=mv.id, level="community", actor="CW2")
    done = rpc.approve_draw(request_id=rid(), movement_id=mv.id, level="subdistrict", actor="SO1")
    assert done.movement.status == "paid" and [a.level for a in done.movement.approvals] == ["community",
                                                                                             "subdistrict"]
    assert (done.fund.balance, done.fund.held, done.fund.drawn) == (999_999, 0, 1_000_001)
    with pytest.raises(Conflict):
        rpc.refuse_draw(request_id=rid(), movement_id=mv.id, level="community", actor="CW1")


def test_a_refused_draw_gives_its_amount_back(projects):
    rpc = projects.rpc.projects
    fund(projects.rpc, amount=1_000_000)
    held = rpc.draw_for_ticket(request_id=rid(), ticket_id="T-9", complex_id="X1", amount=600_000, actor="CW1")
    assert held.movement.status == "pending_approval" and held.fund.balance == 400_000
    back = rpc.refuse_draw(request_id=rid(), movement_id=held.movement.id, level="subdistrict", actor="SO1")
    assert back.movement.kind == "release" and back.movement.serves.id == "T-9"
    assert (back.fund.balance, back.fund.held, back.fund.drawn) == (1_000_000, 0, 0)
    assert rpc.ledger(status="refused").movements[0].id == held.movement.id


def test_the_maintenance_fund_needs_the_owners_decision_or_an_emergency_under_art_281(projects):
    rpc = projects.rpc.projects
    fund(projects.rpc, "F-M-X1", "maintenance", amount=100_000)
    with pytest.raises(ValidationFailed) as err:
        rpc.draw(request_id=rid(), fund_id="F-M-X1", amount=100, serves={"kind": "ticket", "id": "T-1"},
                 purpose="屋面", actor="CW1")
    assert err.value.fields[0]["field"] == "decision_id" and "Art. 278" in err.value.fields[0]["message"]
    urgent = rpc.draw(request_id=rid(), fund_id="F-M-X1", amount=100, serves={"kind": "ticket", "id": "T-1"},
                      purpose="屋面紧急抢修", emergency=True, actor="CW1").movement
    # Emergency use is held for both approvals whatever the sum, and cites its article.
    assert urgent.status == "pending_approval" and "Art. 281" in urgent.legal_basis
    with pytest.raises(ValidationFailed) as err:
        rpc.draw(request_id=rid(), fund_id=fund(projects.rpc, "F-Q", "quality_improvement", amount=10).id, amount=1,
                 serves={"kind": "ticket", "id": "T-1"}, purpose="xx", emergency=True, actor="CW1")
    assert err.value.fields[0]["field"] == "emergency"


def test_a_ticket_draw_on_an_empty_or_missing_fund_is_refused(projects):
    rpc = projects.rpc.projects
    with pytest.raises(NotFound) as err:
        rpc.draw_for_ticket(request_id=rid(), ticket_id="T-1", complex_id="X1", amount=100, actor="CW1")
    assert err.value.details["field"] == "complex_id"
    fund(projects.rpc)
    with pytest.raises(Conflict, match="holds 0 fen"):
        rpc.draw_for_ticket(request_id=rid(), ticket_id="T-1", complex_id="X1", amount=100, actor="CW1")
    assert rpc.ledger().movements == []


def test_permissions_and_bad_input(projects):
    rpc = projects.rpc.projects
    with pytest.raises(PermissionDenied):      # a community worker does not open funds
        fund(projects.rpc, actor="CW1")
    with pytest.raises(NotFound) as err:
        fund(projects.rpc, scope="NOWHERE")
    assert err.value.details["field"] == "scope_id"
    with pytest.raises(ValidationFailed) as err:        # a per-complex fund on a region
        fund(projects.rpc, scope="C1")
    assert err.value.fields[0]["field"] == "scope_id"
    fund(projects.rpc, amount=1000)
    with pytest.raises(ValidationFailed) as err:
        rpc.draw(request_id=rid(), fund_id="F-EM-X1", amount=-5, serves={"kind": "ticket", "id": "T-1"},
                 purpose="xx", actor="CW1")
    assert err.value.fields[0]["field"] == "amount"
    with pytest.raises(PermissionDenied):      # P2 is a resident, no post
        rpc.draw(request_id=rid(), fund_id="F-EM-X1", amount=5, serves={"kind": "ticket", "id": "T-1"},
                 purpose="xx", actor="P2")
    with pytest.raises(NotFound) as err:
        rpc.draw(request_id=rid(), fund_id="F-EM-X1", amount=5, serves={"kind": "project", "id": "NOPE"},
                 purpose="xx", actor="CW1")
    assert err.value.details["field"] == "serves.id"
    assert rpc.get_fund(fund_id="F-EM-X1").fund.balance == 1000
