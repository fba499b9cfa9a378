"""A dispute placed as a ticket opens a mediation case, once (ticketing -> mediation through events)."""

from __future__ import annotations

import pytest

from redprop.testing.suite import wait_for
from tests.ticketing.conftest import rid, submit

pytestmark = pytest.mark.integration


def test_a_neighbour_dispute_ticket_opens_one_case_at_its_grid(run_suite, small_district):
    suite = run_suite("registry", "ticketing", "mediation")
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=rid("load"))
    ticket = submit(suite, category="neighbour_dispute", description="楼上漏水到我家，协商不成")
    cases = wait_for(lambda: suite.rpc.mediation.list_cases().items, timeout=15, message="the case")
    assert [(k.ticket_id, k.source, k.level, k.scope_id) for k in cases] == [(ticket.id, "ticketing", "grid", "G1")]
    assert cases[0].parties[0].id == "P2"


def test_the_monthly_agenda_is_drafted_from_the_complexes_tickets(run_suite, small_district):
    from zoneinfo import ZoneInfo

    suite = run_suite("registry", "ticketing", "mediation")
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=rid("load"))
    first = submit(suite, category="parking", description="消防通道被占用停车")
    second = submit(suite, category="parking", description="消防通道又被车堵住了，晚上尤其严重")
    submit(suite, category="sanitation", description="垃圾桶满了没人清")
    month = first.submitted_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    reply = suite.rpc.mediation.draft_agenda(complex_id="X1", month=month)
    titles = [item.title for item in reply.agenda]
    assert titles[0].startswith("反复出现 recurring: parking x2")
    assert {link.id for link in reply.agenda[0].links} == {first.id, second.id}
    assert any(t.startswith("未解决 open: sanitation x1") for t in titles)
    # The draft is what a meeting records: it goes straight into record_meeting.
    meeting = suite.rpc.mediation.record_meeting(actor="P-CW",
        request_id=rid("meeting"), kind="joint_monthly", held_at=first.submitted_at.isoformat(),
        agenda=[i.model_dump() for i in reply.agenda], minutes="逐项讨论，停车问题提交四方议事")
    assert len(meeting.meeting.agenda) == len(reply.agenda)


def test_drafting_an_agenda_without_ticketing_running_is_unavailable(run_suite):
    from redprop.errors import Unavailable

    suite = run_suite("registry", "mediation", messaging={"rpc_timeout": 2})
    with pytest.raises(Unavailable):
        suite.rpc.mediation.draft_agenda(complex_id="X1", month="2026-11")
