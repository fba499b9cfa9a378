"""The SLA sweep and the ladder, duplicates, summaries, events, notifications and faults."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import eventlet
import eventlet.wsgi
import pytest

from redprop.clock import utcnow
from redprop.messaging.outbox import OutboxRelay
from redprop.testing import events as broker
from redprop.testing.pytest_plugin import free_port
from redprop.testing.suite import Suite, wait_for
from tests.ticketing.conftest import COMPANY, RESIDENT, WORKER, act, rid, start_ticketing, submit

pytestmark = pytest.mark.integration


def sweep(suite, now):
    return suite.rpc.ticketing.sweep(request_id=rid("sweep"), now=now.isoformat())


def test_the_sweep_marks_risk_then_breach_then_climbs_the_ladder_once_per_level(suite):
    ticket = submit(suite, category="water", description="整栋楼停水")  # utilities: 2 h / 24 h, calendar
    t0 = ticket.submitted_at
    assert sweep(suite, t0 + timedelta(minutes=30)).examined == 0

    result = sweep(suite, t0 + timedelta(hours=1, minutes=40))  # past 80 % of the 2 h response time
    assert result.newly_at_risk == 1
    assert suite.rpc.ticketing.get(ticket_id=ticket.id).ticket.sla_state == "at_risk"

    result = sweep(suite, t0 + timedelta(hours=3))
    assert (result.newly_breached, result.escalated) == (1, 0)   # the response deadline: no escalation
    assert suite.rpc.ticketing.get(ticket_id=ticket.id).ticket.sla_state == "breached"

    late = t0 + timedelta(hours=25)
    first, second = (suite.rpc.call_async("ticketing", "sweep", {"request_id": rid("sweep"), "now": late.isoformat()})
                     for _ in range(2))
    assert first.result().escalated + second.result().escalated == 1   # run twice, escalated once
    assert sweep(suite, late).escalated == 0
    escalated = suite.rpc.ticketing.get(ticket_id=ticket.id).ticket
    assert (escalated.level, escalated.handler.id) == ("community", "C1")
    assert escalated.resolution_due_at == late + timedelta(hours=24)

    assert sweep(suite, late + timedelta(hours=25)).escalated == 1
    assert sweep(suite, late + timedelta(hours=50)).escalated == 1
    final = suite.rpc.ticketing.get(ticket_id=ticket.id).ticket
    assert (final.level, final.handler.id) == ("district", "990001")
    assert sweep(suite, late + timedelta(hours=100)).escalated == 0   # nowhere higher to go
    triggers = [h.detail.get("trigger") for h in final.history if h.action == "escalated"]
    assert triggers == ["sla_breach"] * 3


def test_a_paused_ticket_is_not_swept(suite):
    ticket = submit(suite, category="water", description="水压很低")
    act(suite, "accept", ticket.id, COMPANY if ticket.handler.kind == "property_company"
        else _holder(ticket))
    act(suite, "note", ticket.id, _holder(ticket), note="等住户回家", awaiting_resident=True)
    assert sweep(suite, ticket.submitted_at + timedelta(hours=30)).examined == 0


def _holder(ticket):
    from redprop.contracts.ticketing import Actor

    return Actor(kind="handler", handler_kind=ticket.handler.kind, id=ticket.handler.id)


def test_duplicates_are_flagged_and_can_be_followed_or_merged(suite):
    first = submit(suite, description="3楼楼道顶棚漏水很严重")
    second = suite.rpc.ticketing.submit(resident_id="P3", category="leak", building_id="B1",
                                        description="三楼楼道顶棚漏水严重", request_id=rid("submit"))
    assert second.possible_duplicate_of == first.id
    unrelated = submit(suite, category="lift", description="电梯异响")
    assert unrelated.duplicate_of is None
    followed = act(suite, "follow", second.ticket.id, RESIDENT.model_copy(update={"id": "P3"}), original_id=first.id)
    assert followed.status == "cancelled" and followed.duplicate_of == first.id
    third = submit(suite, description="楼道顶棚又在漏水")
    merged = act(suite, "merge", third.id, WORKER, original_id=first.id)
    assert merged.merged_into == first.id and merged.status == "cancelled"


def test_the_monthly_summary_lists_open_resolved_and_recurring_problems(suite):
    a = submit(suite, description="楼道灯不亮", category="repair_common")
    submit(suite, description="楼道灯又不亮了，天黑看不见", category="repair_common")
    submit(suite, description="绿化带有垃圾", category="sanitation")
    act(suite, "resolve", a.id, COMPANY, summary="换灯泡")
    month = a.submitted_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    summary = suite.rpc.ticketing.monthly_summary(complex_id="X1", month=month)
    assert summary.received == 3
    assert [(i.category, i.count) for i in summary.recurring] == [("repair_common", 2)]
    assert [(i.category, i.count) for i in summary.resolved] == [("repair_common", 1)]
    assert sorted((i.category, i.count) for i in summary.open) == [("repair_common", 1), ("sanitation", 1)]


def test_events_carry_what_evaluation_needs(suite):
    queue = broker.bind(suite.settings, "ticketing")
    ticket = submit(suite)
    act(suite, "accept", ticket.id, COMPANY)
    act(suite, "resolve", ticket.id, COMPANY, summary="修好了")
    act(suite, "rate", ticket.id, RESIDENT, rating=4)
    events = []
    wait_for(lambda: events.extend(broker.drain(suite.settings, queue)) or len(events) >= 6, message="six events")
    assert [k for k, _ in events] == ["ticketing.created", "ticketing.dispatched", "ticketing.accepted",
                                      "ticketing.resolved", "ticketing.rated", "ticketing.closed"]
    rated = events[4][1]["ticket"]
    assert rated["property_company_id"] == "CO1" and rated["complex_id"] == "X1"
    assert rated["responded_on_time"] is True and rated["resolved_on_time"] is True and rated["rating"] == 4
    assert rated["handler"] == {"kind": "property_company", "id": "CO1", "name": "安居物业"}


def test_notices_reach_the_webhook_and_a_dead_webhook_breaks_nothing(run_suite, small_district):
    received = []

    def app(environ, start_response):
        received.append(json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))))
        start_response("204 No Content", [])
        return [b""]

    port = free_port()
    server = eventlet.spawn(eventlet.wsgi.server, eventlet.listen(("127.0.0.1", port)), app, log_output=False)
    try:
        suite = run_suite("registry", "ticketing", plugins={"ticketing.notifiers": ["log", "webhook"]},
                          services={"ticketing": {"options": {"webhook_url": f"http://127.0.0.1:{port}/hook"}}})
        suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=rid("load"))
        ticket = submit(suite)
        wait_for(lambda: received, message="a notice")
        assert received[0]["ticket_id"] == ticket.id and received[0]["event"] == "dispatched"
        assert received[0]["recipients"] == ["handler:property_company:CO1"]
    finally:
        server.kill()
    assert submit(suite, description="门禁坏了", category="access_camera").status == "dispatched"


def test_a_configured_notifier_that_is_not_installed_stops_start_up(run_suite):
    from redprop.errors import PluginError

    with pytest.raises(PluginError) as err:
        run_suite("registry", "ticketing", plugins={"ticketing.notifiers": ["log", "wechat"]})
    assert "plugins.ticketing.notifiers" in str(err.value) and "wechat" in str(err.value)


# -- faults ---------------------------------------------------------------------------------------------


def test_a_submit_delivered_twice_creates_one_ticket(suite):
    body = {"resident_id": "P2", "category": "leak", "building_id": "B1", "description": "漏水",
            "request_id": "submit-twice-0001"}
    calls = [suite.rpc.call_async("ticketing", "submit", body) for _ in range(3)]
    tickets = {c.result().ticket.id for c in calls}
    assert len(tickets) == 1
    assert suite.rpc.ticketing.list().total == 1


def test_ticket_events_survive_a_crash_between_commit_and_publish(make_settings, small_district, monkeypatch):
    settings = make_settings(["registry", "ticketing"])
    queue = broker.bind(settings, "ticketing")
    monkeypatch.setattr(OutboxRelay, "relay_pending", lambda self: 0)
    suite = Suite(settings, ["registry", "ticketing"]).start()
    try:
        suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=rid("load"))
        ticket = submit(suite)
    finally:
        suite.kill()
    assert broker.drain(settings, queue) == []
    monkeypatch.undo()
    with Suite(settings, ["registry", "ticketing"]):
        events = wait_for(lambda: broker.drain(settings, queue), message="events left in the outbox")
        eventlet.sleep(0.5)
        events += broker.drain(settings, queue)
    assert [(k, e["ticket"]["ticket_id"]) for k, e in events] == [
        ("ticketing.created", ticket.id), ("ticketing.dispatched", ticket.id)]


def test_time_is_checked_against_the_clock_not_trusted_from_the_client(suite):
    ticket = submit(suite)
    assert abs((ticket.submitted_at - utcnow()).total_seconds()) < 30


def test_a_change_in_the_registry_reaches_the_cached_routes(suite):
    assert submit(suite, building_id="B2", category="repair_common", resident_id="P3").handler.kind == "grid_team"
    # The three-no complex gets a property company.
    suite.rpc.registry.upsert(actor="P-DATA", request_id=rid("company"), records=[
        {"kind": "complex", "id": "X2", "name": "老街小区", "community_id": "C1", "year_built": 1995,
         "property_company_id": "CO1", "lat": 31.01, "lon": 121.01}])

    def routed_to_company():
        t = submit(suite, building_id="B2", category="repair_common", resident_id="P3",
                   description=f"公共照明坏了 {uuid.uuid4().hex[:4]}")
        return t.handler.kind == "property_company"

    wait_for(routed_to_company, timeout=10, interval=0.3, message="the new company in the routes")


def test_the_open_tickets_gauge_is_filled_at_start_and_by_each_scheduled_sweep(run_suite, small_district):
    import urllib.request

    def gauge(port):
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
                if line.startswith("redprop_ticketing_open_tickets{")}

    suite = start_ticketing(run_suite, small_district, sweep_interval=1)
    port = suite.settings.metrics_port("ticketing")
    assert wait_for(lambda: gauge(port), message="the gauge after the first sweep")
    submit(suite)
    key = 'redprop_ticketing_open_tickets{sla_class="utilities",status="dispatched"}'
    wait_for(lambda: gauge(port).get(key) == 1.0, timeout=10, message="one dispatched utilities ticket")


def test_the_list_takes_a_submission_window_inclusive_at_both_ends(suite):
    from datetime import datetime

    from redprop.errors import ValidationFailed

    first, second, third = (submit(suite, description=f"第{n}处漏水，需要维修") for n in (1, 2, 3))

    def listed(**window) -> list[str]:
        return [t.id for t in suite.rpc.ticketing.list(**window).tickets]

    at = second.submitted_at
    assert set(listed(submitted_since=at)) == {second.id, third.id}
    assert set(listed(submitted_until=at)) == {first.id, second.id}
    assert listed(submitted_since=at, submitted_until=at) == [second.id]
    assert listed(submitted_since=third.submitted_at + timedelta(seconds=1)) == []
    with pytest.raises(ValidationFailed) as refused:  # a time without its zone is ambiguous
        suite.rpc.call("ticketing", "list", {"submitted_since": datetime(2026, 1, 1).isoformat()})
    assert refused.value.fields[0]["field"] == "submitted_since"
