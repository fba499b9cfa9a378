"""Projects over the real broker: budget-weighted roll-up over three levels, milestones, status rules with the
hearing and post-evaluation from mediation, links checked at their source, CSV import and permissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.projects.conftest import fund, rid, start

pytestmark = pytest.mark.integration


def project(rpc, pid, budget=0, fund_id="F-SR", **extra):
    lines = [{"fund_id": fund_id, "amount": budget}] if budget else []
    body = {"name": f"项目 {pid}", "kind": "renovation", "complex_ids": ["X1"], "starts_on": "2024-03-01",
            "budget_lines": lines, "actor": "DO1", **extra}
    return rpc.projects.create_project(request_id=rid(), id=pid, **body).project


def progress(rpc, pid, percent, **extra):
    return rpc.projects.record_progress(request_id=rid(), project_id=pid, percent=percent, note="进展", actor="CW1",
                                        **extra).project


def status(rpc, pid, to, actor="CW1"):
    return rpc.projects.set_status(request_id=rid(), project_id=pid, status=to, actor=actor).project


@pytest.fixture
def planned(projects):
    rpc = projects.rpc
    fund(rpc, "F-SR", "special_renovation", scope="990001", amount=10_000_000)
    rpc.projects.create_programme(request_id=rid(), id="PLAN", name="三年行动计划 2022-2024", scope_id="990001",
                                  start_year=2022, end_year=2024, actor="DO1")
    return rpc


def test_progress_rolls_up_over_three_levels_weighted_by_budget(planned):
    rpc = planned
    project(rpc, "A", programme_id="PLAN")
    project(rpc, "A1", 100, parent_id="A")
    project(rpc, "A2", parent_id="A")
    project(rpc, "A2x", 200, parent_id="A2")
    project(rpc, "B", 100, programme_id="PLAN")
    for pid in ("A1", "A2x", "B"):
        status(rpc, pid, "in_progress")
    progress(rpc, "A1", 50)
    progress(rpc, "A2x", 100)
    a = rpc.projects.get_project(project_id="A").project
    assert (a.progress, a.rolled_up, a.budget, a.children) == (83, True, 300, ["A1", "A2"])  # (50*100+100*200)/300
    assert rpc.projects.get_project(project_id="A2").project.progress == 100
    plan = rpc.projects.get_programme(programme_id="PLAN").programme
    assert (plan.progress, plan.budget, plan.projects) == (63, 400, 2)                        # 62.5 rounds up
    # A child's change moves its parents and the programme.
    progress(rpc, "A1", 100)
    assert rpc.projects.get_project(project_id="A").project.progress == 100
    assert rpc.projects.get_programme(programme_id="PLAN").programme.progress == 75
    with pytest.raises(Conflict, match="rolled up"):
        progress(rpc, "A", 10)
    # The children inherit the programme; the timeline records every change.
    assert rpc.projects.get_project(project_id="A2x").project.programme_id == "PLAN"
    changes = [e.change for e in rpc.projects.get_project(project_id="A1").project.timeline]
    assert changes == ["created", "status", "progress", "progress"]


def test_milestones_and_spending(planned):
    rpc = planned
    with pytest.raises(ValidationFailed) as err:
        project(rpc, "M", 100, milestones=[{"title": "开工", "due_on": "2024-02-28"}])
    assert err.value.fields[0]["field"] == "milestones.0.due_on"
    p = project(rpc, "M", 100_000, milestones=[{"title": "开工", "due_on": "2024-03-01"}])
    assert p.milestones[0].seq == 1
    with pytest.raises(ValidationFailed) as err:
        rpc.projects.add_milestone(request_id=rid(), project_id="M", title="早", due_on="2024-01-01", actor="CW1")
    assert err.value.fields[0]["field"] == "due_on"
    rpc.projects.add_milestone(request_id=rid(), project_id="M", title="竣工", due_on="2024-09-01", actor="CW1")
    status(rpc, "M", "in_progress")
    with pytest.raises(ValidationFailed) as err:
        progress(rpc, "M", 40, milestones_done=[7])
    assert err.value.fields[0]["field"] == "milestones_done.0"
    p = progress(rpc, "M", 40, milestones_done=[1])
    assert p.milestones[0].done_on is not None and p.milestones[1].done_on is None
    rpc.projects.draw(request_id=rid(), fund_id="F-SR", amount=30_000, serves={"kind": "project", "id": "M"},
                      purpose="首期款", actor="DO1")
    p = rpc.projects.get_project(project_id="M").project
    assert p.spent == 30_000 and p.budget_lines[0].spent == 30_000 and p.budget_lines[0].fund_kind == "special_renovation"
    summary = rpc.projects.complex_summary(complex_id="X1")
    assert [s.model_dump() for s in summary.spent_by_source] == [{"fund_kind": "special_renovation", "spent": 30_000}]
    assert [m.title for m in summary.next_milestones] == ["竣工"]
    with pytest.raises(Conflict, match="100%"):
        status(rpc, "M", "completed")
    progress(rpc, "M", 100)
    status(rpc, "M", "completed")
    with pytest.raises(Conflict, match="post-evaluation"):
        status(rpc, "M", "closed")


def test_bad_input_names_the_field(planned):
    rpc = planned
    with pytest.raises(NotFound) as err:
        project(rpc, "X", complex_ids=["X1", "NOPE"])
    assert err.value.details["field"] == "complex_ids.1"
    with pytest.raises(NotFound) as err:
        project(rpc, "X", 100, fund_id="NOFUND")
    assert err.value.details["field"] == "budget_lines.0.fund_id"
    with pytest.raises(ValidationFailed) as err:
        project(rpc, "X", -100)
    assert err.value.fields[0]["field"].startswith("budget_lines.0.amount")
    with pytest.raises(ValidationFailed):
        project(rpc, "X", ends_on="2024-01-01")
    with pytest.raises(NotFound) as err:
        project(rpc, "X", parent_id="NOPE")
    assert err.value.details["field"] == "parent_id"
    assert rpc.projects.list_projects().total == 0      # nothing half-written


def test_permissions(planned):
    rpc = planned
    with pytest.raises(PermissionDenied):               # a community worker does not plan projects
        project(rpc, "P", actor="CW1")
    project(rpc, "P")
    with pytest.raises(PermissionDenied):               # a resident does not record progress
        status(rpc, "P", "in_progress", actor="P2")
    with pytest.raises(PermissionDenied):
        rpc.projects.create_programme(request_id=rid(), id="P2", name="x", scope_id="990001", start_year=2022,
                                      end_year=2024, actor="CW1")
    with pytest.raises(PermissionDenied):
        rpc.projects.import_projects(request_id=rid(), csv="id,name,kind,complex_ids,starts_on\n", actor="CW1")


CSV_GOOD = """id,name,kind,complex_ids,starts_on,ends_on,programme_id,parent_id,fund_id,budget_yuan,progress
R1,阳光小区综合整治,renovation,X1;X2,2022-04-01,2022-12-31,PLAN,,F-SR,1200000.50,40
R1,,,,,,,,F-Q,20000,
R1a,楼道治理,micro_renovation,X1,2022-05-01,,,R1,F-Q,5000,100
"""


def test_csv_import_names_bad_rows_and_writes_nothing_until_all_are_good(planned):
    rpc = planned
    fund(rpc, "F-Q", "quality_improvement", amount=100)
    bad = CSV_GOOD.replace("R1,,,,,,,,F-Q,20000,", "R1,,,,,,,,F-UNKNOWN,20000,") \
                  .replace("micro_renovation,X1,2022-05-01", "spaceship,X9,2022-13-01")
    reply = rpc.projects.import_projects(request_id=rid(), csv=bad, actor="DO1")
    assert not reply.applied and reply.created == []
    assert [(p.row, p.field) for p in reply.problems] == [(3, "fund_id"), (4, "kind"), (4, "complex_ids"),
                                                          (4, "starts_on")]
    assert "F-UNKNOWN" in reply.problems[0].message
    assert rpc.projects.list_projects().total == 0
    reply = rpc.projects.import_projects(request_id=rid(), csv=CSV_GOOD.replace("1200000.50", "-3"), actor="DO1")
    assert [(p.row, p.field) for p in reply.problems] == [(2, "budget_yuan")]
    reply = rpc.projects.import_projects(request_id=rid(), csv=CSV_GOOD, actor="DO1")
    assert reply.applied and reply.created == ["R1", "R1a"]
    r1 = rpc.projects.get_project(project_id="R1").project
    assert r1.complex_ids == ["X1", "X2"] and r1.budget == 120_000_050 + 2_000_000 + 500_000
    assert r1.progress == 100 and r1.rolled_up       # from R1a, its only sub-project
    again = rpc.projects.import_projects(request_id=rid(), csv=CSV_GOOD, actor="DO1")
    assert (again.problems[0].row, again.problems[0].field) == (2, "id")


def _matter(rpc, complex_id="X1"):
    return rpc.mediation.open_matter(actor="P-CW", request_id=rid(), title="老旧小区改造", topic="renovation",
                                     complex_id=complex_id, parties=["party_branch", "property_company"]).matter.id


def _meeting(rpc, matter_id, kind, held_at):
    return rpc.mediation.record_meeting(actor="P-CW",
        request_id=rid(), matter_id=matter_id, kind=kind, held_at=held_at.isoformat(),
        agenda=[{"title": "改造方案"}], attendance=[{"person_id": "P1", "role": "party secretary"}],
        minutes="同意 agreed").meeting.id


def test_hearing_before_and_evaluation_after_from_mediation(run_suite, district_records):
    suite = start(run_suite, district_records, "mediation", "projects",
                  services={"projects": {"options": {"hearing_above": "1000"}}})
    rpc = suite.rpc
    fund(rpc, "F-SR", "special_renovation", scope="990001", amount=10_000_000)
    project(rpc, "BIG", 100_001)                     # 1,000.01 yuan: above the hearing threshold
    small = project(rpc, "SMALL", 100_000)
    assert rpc.projects.get_project(project_id="BIG").project.hearing_required and not small.hearing_required
    with pytest.raises(Conflict, match="hearing"):
        status(rpc, "BIG", "in_progress")
    status(rpc, "SMALL", "in_progress")             # exactly 1,000 yuan needs none
    with pytest.raises(NotFound) as err:
        rpc.projects.link(request_id=rid(), project_id="BIG", link={"kind": "matter", "id": "NOPE"}, actor="CW1")
    assert err.value.details["field"] == "link.id"
    other = _matter(rpc, "X2")
    with pytest.raises(ValidationFailed) as err:     # a matter about another complex
        rpc.projects.link(request_id=rid(), project_id="BIG", link={"kind": "matter", "id": other}, actor="CW1")
    assert err.value.fields[0]["field"] == "link.id"
    matter = _matter(rpc)
    linked = rpc.projects.link(request_id=rid(), project_id="BIG", link={"kind": "matter", "id": matter},
                               actor="CW1").project
    assert linked.links[0].title == "老旧小区改造"
    with pytest.raises(Conflict, match="hearing"):   # linked, but no hearing recorded yet
        status(rpc, "BIG", "in_progress")
    before = _meeting(rpc, matter, "hearing", datetime.now(UTC) - timedelta(hours=1))
    status(rpc, "BIG", "in_progress")
    progress(rpc, "BIG", 100)
    status(rpc, "BIG", "completed")
    with pytest.raises(Conflict, match="post-evaluation"):
        status(rpc, "BIG", "closed")
    with pytest.raises(ValidationFailed) as err:     # the hearing was before the work: no evaluation after it
        rpc.projects.record_post_evaluation(request_id=rid(), project_id="BIG", matter_id=matter, meeting_id=before,
                                            summary="评议", actor="CW1")
    assert err.value.fields[0]["field"] == "meeting_id"
    with pytest.raises(ValidationFailed) as err:
        rpc.projects.record_post_evaluation(request_id=rid(), project_id="BIG", matter_id=other, meeting_id=before,
                                            summary="评议", actor="CW1")
    assert err.value.fields[0]["field"] == "matter_id"
    after = _meeting(rpc, matter, "deliberation", datetime.now(UTC) + timedelta(seconds=1))
    evaluated = rpc.projects.record_post_evaluation(request_id=rid(), project_id="BIG", matter_id=matter,
                                                    meeting_id=after, summary="居民满意", satisfaction=92,
                                                    actor="CW1").project
    assert evaluated.post_evaluation.satisfaction == 92
    assert status(rpc, "BIG", "closed").status == "closed"
