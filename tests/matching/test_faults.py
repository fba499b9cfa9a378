"""Faults: a decision or a fulfilment whose service crashed after committing, before replying, is
redelivered by the broker to the restarted service, and takes effect once."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from redprop.messaging.rpc import ContractRpcConsumer
from redprop.testing.suite import Suite, wait_for
from tests.matching.conftest import OFFICER_ID, WORKER_ID

pytestmark = pytest.mark.integration

SOON = (date.today() + timedelta(days=30)).isoformat()


def crash_after_commit(monkeypatch, operation: str) -> dict:
    """The worker commits, then the process dies before the reply and the ack leave it."""
    state = {"crashed": 0}
    original = ContractRpcConsumer.handle_result

    def handle_result(self, message, result, exc_info):
        if message.delivery_info.get("routing_key") == operation and not state["crashed"]:
            state["crashed"] += 1
            return result, exc_info  # neither replied nor acknowledged
        return original(self, message, result, exc_info)

    monkeypatch.setattr(ContractRpcConsumer, "handle_result", handle_result)
    return state


def test_an_accept_and_a_fulfilment_redelivered_after_a_crash_take_effect_once(make_settings, district_records,
                                                                               monkeypatch):
    settings = make_settings(["registry", "matching"])
    suite = Suite(settings, ["registry", "matching"]).start()
    caller = suite.client(timeout=30)  # the caller outlives the crashed service
    try:
        suite.rpc.registry.upsert(actor="P-DATA", records=district_records, request_id="load-district-1")
        rpc = suite.rpc.matching
        rpc.add_offers(actor=WORKER_ID, offers=[{"id": "OF-1", "provider_id": "ENT-A", "title": "樱花树", "quantity": 20, "unit": "棵"}])
        rpc.add_needs(actor=WORKER_ID, needs=[{"id": "ND-1", "requester_id": "X2", "title": "樱花树景观", "quantity": 20, "unit": "棵",
                              "needed_by": SOON, "budget_estimate": "40000"}])
        [prop] = rpc.run_matching(actor=OFFICER_ID, ).proposals
        rpc.decide(actor=WORKER_ID, proposal_id=prop.id, side="offer", decision="accept")

        for operation, request in (
                ("matching.decide", {"proposal_id": prop.id, "side": "need", "decision": "accept",
                                     "request_id": "accept-need-0001", "actor": WORKER_ID}),
                ("matching.fulfil", {"proposal_id": prop.id, "delivered_quantity": 20,
                                     "request_id": "fulfil-0001", "actor": WORKER_ID})):
            state = crash_after_commit(monkeypatch, operation)
            service, op = operation.split(".")
            pending = caller.call_async(service, op, request)
            wait_for(lambda state=state: state["crashed"], message=f"{operation} committed")
            suite.kill()
            monkeypatch.undo()
            suite = Suite(settings, ["registry", "matching"]).start()
            # The broker redelivers the unacknowledged command; the stored reply answers it.
            reply = pending.result(timeout=30)
            # Run twice, the second run would have answered "nothing changed" (decide) or a conflict (fulfil).
            assert reply.changed is True
            again = caller.call(service, op, request)
            assert again == reply

        assert reply.proposal.status == "fulfilled"
        rpc = suite.rpc.matching
        assert [(p.id, p.status) for p in rpc.list_proposals().proposals] == [(prop.id, "fulfilled")]
        ledger = rpc.ledger(level="complex")
        assert [(line.id, line.fulfilments, line.delivered_value) for line in ledger.lines] == \
            [("X2", 1, Decimal("40000.00"))]
    finally:
        caller.close()
        suite.stop()
