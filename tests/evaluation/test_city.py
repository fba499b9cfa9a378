"""The city league table: the city release's evaluation keeps the districts' federated ``period_closed``
standings and ranks every district's companies together, per rubric, with the trend over quarters.

Federation is simulated: the districts' events are published by hand into the city's vhost on the
``evaluation.events`` exchange, with the routing key and headers federation delivers them with
(tests/federation checks the federation itself).
"""

from __future__ import annotations

import re
import uuid
from argparse import Namespace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from redprop.config import ConfigError, Settings
from redprop.contracts import evaluation as c
from redprop.db.engine import build_engine
from redprop.errors import Conflict
from redprop.messaging.tables import ProcessedEvent
from redprop.services.evaluation import models as m
from redprop.services.evaluation.cli import cmd_report
from redprop.services.evaluation.options import EvaluationOptions
from redprop.services.evaluation.periods import period_of
from redprop.testing import events as testing_events
from redprop.testing.suite import wait_for
from tests.evaluation.conftest import MEMBERS, RED_SCORECARD, evaluation_engine, rid, start

CITY, HUANGPU, XUHUI, CHANGNING = "310000", "310101", "310104", "310105"
T0 = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)


def standing(company: str, index: str | None, rank: int | None, tickets: int = 10, stars: int | None = None,
             name: str | None = None) -> c.Standing:
    return c.Standing(company_id=company, name=name, index=None if index is None else Decimal(index), rank=rank,
                      tickets=tickets, complexes=1, stars=stars)


def closed(district: str, period: str, standings: list[c.Standing], at: datetime = T0,
           rubric: str = "red_property") -> c.PeriodClosed:
    return c.PeriodClosed(district=district, period=period, rubric=rubric, rubric_version="1.0",
                          standings=standings, occurred_at=at)


def republished(evt: c.Event) -> c.Event:
    """The same fact published again under a new event id (a district replaying its outbox)."""
    return evt.model_copy(update={"event_id": uuid.uuid4().hex})


def deliver(settings: Settings, *events: c.Event) -> None:
    """Publish as a district's outbox does, onto the city's federated ``evaluation.events`` exchange."""
    testing_events.deliver(settings, "evaluation", *events)


def handled(settings: Settings, *events: c.Event) -> None:
    """Wait until the city has processed these events (its inbox has their ids)."""
    engine = build_engine(settings.database_url("evaluation"))
    wanted = {evt.event_id for evt in events}
    try:
        def done():
            with engine.connect() as conn:
                return wanted <= {r[0] for r in conn.execute(select(ProcessedEvent.event_id))}
        wait_for(done, message="the events handled")
    finally:
        engine.dispose()


def table_rows(reply: c.CityLeagueTableReply, rubric: str = "red_property") -> list[tuple]:
    [group] = [g for g in reply.groups if g.rubric == rubric]
    return [(r.district, r.company_id, r.rank, r.district_rank, r.index) for r in group.rows]


@pytest.fixture
def city(make_settings, run_suite, backend):
    settings = make_settings(["evaluation"], backend, services={"evaluation": {"options": {"role": "city"}}})
    return run_suite("evaluation", settings=settings.model_copy(update={"district": CITY}))


pytestmark = pytest.mark.integration


def test_the_city_ranks_every_districts_companies_together_with_the_trend(city):
    rpc = city.rpc.evaluation
    assert rpc.city_league_table().periods == []           # nothing published yet: an empty table, not an error

    # Huangpu and Xuhui both have a company "CO1": the district code keeps them apart.
    hp_q1 = closed(HUANGPU, "2026Q1", [standing("CO1", "80.00", 1), standing("CO2", "70.00", 2)])
    hp_q2 = closed(HUANGPU, "2026Q2", [standing("CO1", "78.00", 1, stars=4, name="锦江物业"),
                                        standing("CO2", "75.50", 2)], at=T0 + timedelta(days=91))
    xh_q2 = closed(XUHUI, "2026Q2", [standing("CO1", "90.00", 1, stars=5), standing("CO7", "75.50", 2, stars=3),
                                      standing("CO8", None, None, tickets=0)], at=T0 + timedelta(days=92))
    # Changning rates under the Hongkou rubric: ranked apart, never against the red-property indexes.
    cn_q2 = closed(CHANGNING, "2026Q2", [standing("CO1", "95.00", 1)], rubric="hongkou", at=T0 + timedelta(days=93))
    # Duplicates as federation and replays deliver them: the same message twice, the same fact under a new id.
    deliver(city.settings, hp_q1, hp_q2, hp_q2, republished(hp_q2), xh_q2, republished(xh_q2), cn_q2)
    handled(city.settings, hp_q1, hp_q2, xh_q2, cn_q2)

    reply = rpc.city_league_table(periods=2)
    assert reply.city == CITY and reply.periods == ["2026Q1", "2026Q2"] and reply.grouped_by == "rubric"
    assert [g.rubric for g in reply.groups] == ["red_property", "hongkou"]
    red = reply.groups[0]
    assert red.districts == [HUANGPU, XUHUI] and red.total == 5, "a duplicated event added rows"
    # Across districts; ties share a rank (competition ranking); no index, no rank.
    assert table_rows(reply) == [
        (XUHUI, "CO1", 1, 1, Decimal("90.00")), (HUANGPU, "CO1", 2, 1, Decimal("78.00")),
        (HUANGPU, "CO2", 3, 2, Decimal("75.50")), (XUHUI, "CO7", 3, 2, Decimal("75.50")),
        (XUHUI, "CO8", None, None, None)]
    hp_co1 = red.rows[1]
    assert (hp_co1.name, hp_co1.stars, hp_co1.change, hp_co1.rank_change) == ("锦江物业", 4, Decimal("-2.00"), -1)
    assert [(t.period, t.index, t.rank, t.district_rank) for t in hp_co1.trend] == [
        ("2026Q1", Decimal("80.00"), 1, 1), ("2026Q2", Decimal("78.00"), 2, 1)]
    assert [(t.period, t.index, t.rank) for t in red.rows[0].trend] == [("2026Q1", None, None),
                                                                        ("2026Q2", Decimal("90.00"), 1)]
    assert red.best_movers == [c.CompanyKey(district=HUANGPU, company_id="CO2")]
    assert red.worst_movers == [c.CompanyKey(district=HUANGPU, company_id="CO1")]
    assert [(r.district, r.company_id, r.rank) for r in reply.groups[1].rows] == [(CHANGNING, "CO1", 1)]

    summaries = {d.district: d for d in reply.districts}
    assert set(summaries) == {HUANGPU, XUHUI, CHANGNING}
    hp, xh = summaries[HUANGPU], summaries[XUHUI]
    assert (hp.rubric, hp.companies, hp.mean_index) == ("red_property", 2, Decimal("76.75"))
    assert [(t.period, t.companies, t.mean_index) for t in hp.trend] == [("2026Q1", 2, Decimal("75.00")),
                                                                        ("2026Q2", 2, Decimal("76.75"))]
    assert (xh.companies, xh.mean_index, xh.trend[0].companies) == (2, Decimal("82.75"), 0)
    assert {s.stars: s.companies for s in xh.stars} == {5: 1, 4: 0, 3: 1}
    assert {s.stars: s.companies for s in hp.stars} == {5: 0, 4: 1, 3: 0}
    assert summaries[CHANGNING].rubric == "hongkou"

    # The default last period is the newest any district closed; an explicit one moves the window.
    assert rpc.city_league_table(periods=1).periods == ["2026Q2"]
    only_q1 = rpc.city_league_table(period="2026Q1", periods=1, limit=1)
    assert only_q1.groups[0].total == 2 and table_rows(only_q1) == [(HUANGPU, "CO1", 1, 1, Decimal("80.00"))]


def test_the_city_report_renders_the_table_per_rubric(city, tmp_path):
    hp = closed(HUANGPU, "2026Q2", [standing("CO1", "78.00", 1, stars=4, name="<b>锦江</b>物业"),
                                     standing("CO2", "75.50", 2)])
    cn = closed(CHANGNING, "2026Q2", [standing("CO1", "95.00", 1)], rubric="hongkou")
    deliver(city.settings, hp, cn)
    handled(city.settings, hp, cn)
    out = tmp_path / "city.html"
    args = Namespace(out=str(out), periods=2, until=None, timeout=None, city=True)
    assert cmd_report(args, city.settings) == 0
    html = out.read_text(encoding="utf-8")
    sections = re.findall(r'<section class="rubric"><h2>(\w+) .*?</section>', html, re.S)
    assert sections == ["red_property", "hongkou"]
    league_rows = [len(re.findall(r"<tr><td>", t)) for t in re.findall(r'<table class="league">.*?</table>', html, re.S)]
    assert league_rows == [2, 1]
    assert "&lt;b&gt;锦江&lt;/b&gt;物业" in html and "<b>锦江</b>" not in html
    assert "2026Q1" in html and HUANGPU in html and CHANGNING in html


def test_a_newer_event_replaces_and_an_older_one_never_overwrites(city):
    rpc = city.rpc.evaluation
    first = closed(HUANGPU, "2026Q2", [standing("CO1", "60.00", 1), standing("CO2", "50.00", 2)])
    other = closed(XUHUI, "2026Q2", [standing("CO9", "55.00", 1)])
    deliver(city.settings, first, other)
    handled(city.settings, first, other)
    assert [(d, co, rank) for d, co, rank, _, _ in table_rows(rpc.city_league_table(periods=1))] == [
        (HUANGPU, "CO1", 1), (XUHUI, "CO9", 2), (HUANGPU, "CO2", 3)]

    # Huangpu republishes the quarter later with corrected standings: they replace the first ones.
    newer = closed(HUANGPU, "2026Q2", [standing("CO2", "58.00", 1), standing("CO1", "52.00", 2)],
                   at=T0 + timedelta(hours=5))
    deliver(city.settings, newer)
    handled(city.settings, newer)
    assert table_rows(rpc.city_league_table(periods=1)) == [
        (HUANGPU, "CO2", 1, 1, Decimal("58.00")), (XUHUI, "CO9", 2, 1, Decimal("55.00")),
        (HUANGPU, "CO1", 3, 2, Decimal("52.00"))]

    # The first one arriving again (a late replay, under a new id), and one older still, change nothing.
    late = (republished(first), closed(HUANGPU, "2026Q2", [standing("CO3", "99.00", 1)], at=T0 - timedelta(days=1)))
    deliver(city.settings, *late)
    handled(city.settings, *late)
    reply = rpc.city_league_table(periods=1)
    assert [(d, co) for d, co, *_ in table_rows(reply)] == [(HUANGPU, "CO2"), (XUHUI, "CO9"), (HUANGPU, "CO1")]
    assert {d.district: d.companies for d in reply.districts} == {HUANGPU: 2, XUHUI: 1}

    # The city's own code never enters its table (its instance publishes no district standings).
    own = closed(CITY, "2026Q2", [standing("CO1", "100.00", 1)], at=T0 + timedelta(days=1))
    deliver(city.settings, own)
    handled(city.settings, own)
    assert rpc.city_league_table(periods=1).groups[0].districts == [HUANGPU, XUHUI]
    with evaluation_engine(city).connect() as conn:
        kept = conn.execute(select(m.city_standings.c.district, m.city_standings.c.event_id)).all()
    assert sorted(kept) == sorted([(HUANGPU, newer.event_id), (XUHUI, other.event_id)])


def test_a_district_publishes_stars_and_refuses_the_city_table(run_suite, small_district):
    suite = start(run_suite, small_district)
    rpc = suite.rpc.evaluation
    with pytest.raises(Conflict) as refused:
        rpc.city_league_table()
    assert "role" in str(refused.value) and refused.value.details == {"role": "district"}

    # CO1 holds an active 4-star certificate when the quarter closes: its published standing says so.
    now = period_of(datetime.now(UTC))
    card = rpc.submit_scorecard(complex_id="X1", committee_id="OC1", period=now, submitted_by=MEMBERS[0],
                                scores=RED_SCORECARD, request_id=rid("card")).scorecard
    for person in MEMBERS[:3]:
        rpc.sign_scorecard(scorecard_id=card.id, person_id=person, request_id=rid("sign"))
    today = date.today()
    with evaluation_engine(suite).begin() as conn:
        conn.execute(m.ratings.insert().values(
            district=suite.settings.district, id="RT-1", company_id="CO1", year=today.year - 1, rubric="red_property",
            state="certified", created_at=datetime.now(UTC), cert_stars=4, cert_issued_on=today - timedelta(days=30),
            cert_valid_until=today + timedelta(days=1000), cert_last_year=today.year - 1))
    reply = rpc.close_period(period=now, closed_by="DEP-HOUSING", actor="P-HO", request_id=rid("close"))
    assert [(s.company_id, s.rank, s.stars) for s in reply.standings] == [("CO1", 1, 4)]


def test_the_role_option_is_checked():
    assert EvaluationOptions().role == "district"
    assert EvaluationOptions(role="city").role == "city"
    settings = Settings(district=HUANGPU, services={"evaluation": {"options": {"role": "province"}}})
    with pytest.raises(ConfigError) as wrong:
        settings.service_options("evaluation", EvaluationOptions)
    assert "services.evaluation.options.role" in str(wrong.value)
