"""A dispute placed as a ticket opens a mediation case, once (ticketing -> mediation through events)."""

from __future__ import annotations

import pytest

from redprop.testing.suite import wait_for
from tests.ticketing.conftest import rid, submit

pytestmark = pytest.mark.integration


def test_a_neighbour_dispute_ticket_opens_one_case_at_its_grid(run_suite, small_district):
    suite = run_suite("registry", "ticketing", "mediation")
    suite.rpc.registry.upsert(records=small_district, request_id=rid("load"))
    ticket = submit(suite, category="neighbour_dispute", description="楼上漏水到我家，协商不成")
    cases = wait_for(lambda: suite.rpc.mediation.list_cases().items, timeout=15, message="the case")
    assert [(k.ticket_id, k.source, k.level, k.scope_id) for k in cases] == [(ticket.id, "ticketing", "grid", "G1")]
    assert cases[0].parties[0].id == "P2"
