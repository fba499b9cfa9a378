"""The demo's participation story runs through the published contracts on the sample district, and again
(the same requests within the hour change nothing)."""

from __future__ import annotations

from pathlib import Path

from redprop.cli.demo import DemoContext
from redprop.services.participation.demo import greening_day
from redprop.services.registry.demo import sample_district


def test_greening_day_story(run_suite, capsys):
    from redprop.services.participation.demo import meetings_votes_donations

    # Mediation and matching too: the second step's points come from their events.
    suite = run_suite("registry", "mediation", "matching", "participation")
    # The first data officer appoints themself in the empty registry (the sample brings the rest).
    suite.rpc.registry.upsert(actor="P-DATA", request_id="demo-test-officer", records=[
        {"kind": "region", "id": "990001", "level": "district", "name": "测试区"},
        {"kind": "person", "id": "P-DATA", "name": "数据专员"},
        {"kind": "role", "id": "R-P-DATA", "person_id": "P-DATA", "role": "data_officer", "scope_id": "990001",
         "term_start": "2024-01-01"}])
    ctx = DemoContext(settings=suite.settings, rpc=suite.rpc, config_file=Path("redprop.yaml"))
    sample_district(ctx)
    capsys.readouterr()
    greening_day(ctx)
    out = capsys.readouterr().out
    assert "volunteer turns in Zhuanqiao this year (Beijing time): 4 turns" in out
    assert "a resident tries to organise one: permission_denied" in out
    assert "not a party member tries to pledge: permission_denied" in out
    assert "ten more would overdraw: conflict" in out
    assert "vanguard" in out and "松江电信" in out
    greening_day(ctx)  # again: idempotent requests, same totals
    assert "4 turns" in capsys.readouterr().out
    # The second step: a meeting, a vote (re-cast once) and a donation earn points through the events.
    meetings_votes_donations(ctx)
    out = capsys.readouterr().out
    assert "earns 5 points" in out                       # the meeting
    assert "3 points, once for the consultation" in out  # the vote
    assert "names the giver: 10 points" in out           # the donation

