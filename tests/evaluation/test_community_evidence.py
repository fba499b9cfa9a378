"""Participation and projects as evidence for the star rating (red_property rubric): the company's staff
turns beside the team-building item, its paired-unit tasks and the milestones of projects in its complexes
beside the social-image item, each once however often its event is delivered, and nothing of another
company's or unit's."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select

from redprop.contracts import participation as pt
from redprop.contracts import projects as pj
from redprop.services.evaluation import models as m
from redprop.services.evaluation.rubrics import RedPropertyRubric
from redprop.testing.events import deliver
from redprop.testing.suite import wait_for
from tests.evaluation.conftest import rid, start

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
SELF = {"organisation_id": "CO1", "person_id": "P9"}


def turn(turn_id: str, unit: str | None, hours: float = 2, role: str = "unit_staff") -> pt.TurnRecorded:
    return pt.TurnRecorded(district="990001", turn=pt.Turn(
        district="990001", id=turn_id, person_id="P-CS", role=role, hours=hours, community_id="C1", unit_id=unit,
        at=NOW, year=NOW.year, month=f"{NOW:%Y-%m}"))


def task(task_id: str, unit: str, state: str = "done") -> pt.TaskDone:
    return pt.TaskDone(district="990001", task=pt.Task(
        district="990001", id=task_id, community_id="C1", assignee_id=unit, assignee_kind="unit",
        title="楼道清理 stairwell clean-up", source="community", state=state, assigned_by="W1", assigned_at=NOW,
        done_at=NOW if state == "done" else None, hours=3))


def milestone(project: str, complexes: list[str], title: str = "管网完工 network laid",
              change: str = "milestone_reached") -> pj.ProjectChanged:
    return pj.ProjectChanged(district="990001", project_id=project, complex_ids=complexes, change=change,
                             status="in_progress", progress=60, milestone=title)


def _rows(suite) -> int:
    engine = create_engine(suite.settings.database_url("evaluation"))
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(m.community_evidence)).scalar_one()
    finally:
        engine.dispose()


def scores() -> dict[str, str]:
    return {i.code: "5" for i in RedPropertyRubric().items_from("assessment") if not i.bonus}


def test_turns_tasks_and_milestones_appear_once_beside_their_items(run_suite, small_district):
    suite = start(run_suite, small_district)
    mine = turn("TU1", "CO1")
    deliver(suite.settings, "participation", mine, mine, turn("TU2", "CO1", hours=1.5))  # one redelivered
    deliver(suite.settings, "participation", turn("TU3", "ORG-TEL"), turn("TU4", None, role="volunteer"))
    done = task("TK1", "CO1")
    deliver(suite.settings, "participation", done, done, task("TK2", "CO2"))
    deliver(suite.settings, "projects", milestone("PJ1", ["X1"]), milestone("PJ1", ["X1"]))  # two events, one fact
    deliver(suite.settings, "projects", milestone("PJ2", ["X1"], change="milestone_added"),  # not reached yet
            milestone("PJ3", ["X3"]))                                                         # CO2's complex
    # TU1 TU2 TU3 (kept per unit) TK1 TK2 PJ1 PJ3
    wait_for(lambda: _rows(suite) >= 7, timeout=20)
    time.sleep(0.5)
    assert _rows(suite) == 7

    rating = suite.rpc.evaluation.apply(company_id="CO1", year=NOW.year, actor=SELF, scores=scores(),
                                        comment="自评", request_id=rid("apply")).rating
    items = {i.code: i for i in suite.rpc.evaluation.explain(rating_id=rating.id).explanation.items}
    team = items["team_grid_cooperation"]
    assert [(e["kind"], e["id"], e["hours"]) for e in team.inputs["community"]] == [("turn", "TU1", "2"),
                                                                                 ("turn", "TU2", "1.5")]
    assert team.basis.endswith("evidence: 2 turns of service (3.5 h)")
    social = items["social_reputation"]
    assert sorted((e["kind"], e["id"]) for e in social.inputs["community"]) == [("milestone", "PJ1"), ("task", "TK1")]
    assert "1 paired-unit tasks done (3 h); 1 project milestones" in social.basis
    # The points stay the assessor's; items without community evidence show none.
    assert team.points == 5 and "community" not in items["team_staffing"].inputs


def test_another_company_sees_only_its_own(run_suite, small_district):
    suite = start(run_suite, small_district)
    deliver(suite.settings, "participation", turn("TU1", "CO1"))
    deliver(suite.settings, "projects", milestone("PJ3", ["X3", "NO-SUCH-COMPLEX"]))  # an unknown complex: skipped
    wait_for(lambda: _rows(suite) >= 2, timeout=20)
    rating = suite.rpc.evaluation.apply(company_id="CO2", year=NOW.year,
                                        actor={"organisation_id": "CO2", "person_id": "P3"}, scores=scores(),
                                        request_id=rid("apply")).rating
    items = {i.code: i for i in suite.rpc.evaluation.explain(rating_id=rating.id).explanation.items}
    assert items["team_grid_cooperation"].inputs["community"] == []
    assert items["team_grid_cooperation"].basis.endswith("evidence: none in the period")
    assert [e["id"] for e in items["social_reputation"].inputs["community"]] == ["PJ3"]
