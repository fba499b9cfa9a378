"""The concern modules alone over a session (no broker): roll-up rounding and weights, the conditional draw,
the approval rule at its boundary, and CSV parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from redprop.errors import Conflict, ValidationFailed
from redprop.services.projects import approvals, csvimport, funds
from redprop.services.projects.models import budget_lines, metadata, projects
from redprop.services.projects.rollup import Tree

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as s:
        yield s


def _project(session, pid, parent=None, progress=0, budget=0, programme=None):
    session.execute(insert(projects).values(district="990001", id=pid, name=pid, kind="other", parent_id=parent,
                                            programme_id=programme, status="in_progress",
                                            starts_on=date(2024, 1, 1), progress=progress, created_at=NOW))
    if budget:
        session.execute(insert(budget_lines).values(district="990001", project_id=pid, fund_id="F", amount=budget))


def test_rollup_weights_by_budget_and_falls_back_to_the_mean(session):
    _project(session, "P", programme="G")
    _project(session, "C1", "P", progress=33)
    _project(session, "C2", "P", progress=34)
    tree = Tree(session, "990001")
    assert tree.progress("P") == 34 and tree.budget("P") == 0        # no budgets: the mean, 33.5 -> 34
    _project(session, "Q", programme="G", budget=300)
    _project(session, "Q1", "Q", progress=100, budget=100)
    tree = Tree(session, "990001")
    assert tree.progress("Q") == 100 and tree.budget("Q") == 400       # Q's own line and its child's
    assert tree.programme("G") == (100, 400, 0, 2)    # P has no budget: beside a budgeted project it weighs 0
    assert sorted(tree.descendants("P")) == ["C1", "C2"]


def test_the_conditional_draw_and_the_approval_boundary(session):
    session.execute(insert(funds.funds).values(district="990001", id="F", kind="emergency_repair", name="f",
                                               scope_id="X1", complex_id="X1", balance=0, allocated=0, drawn=0,
                                               held=0, created_at=NOW))
    funds.allocate(session, "990001", "F", 2026, 1000, "", "DO1", NOW)
    fund = funds.load(session, "990001", "F")
    serves = SimpleNamespace(kind="ticket", id="T")
    funds.draw(session, "990001", fund, 1000, held=False, serves=serves, purpose="p", actor="a", year=2026, now=NOW)
    with pytest.raises(Conflict) as err:
        funds.draw(session, "990001", fund, 1, held=False, serves=serves, purpose="p", actor="a", year=2026, now=NOW)
    assert err.value.details == {"field": "amount", "fund_id": "F", "balance": 0, "amount": 1}
    assert approvals.rule_for("emergency_repair", 500_000, 500_000, False, None) == (False, None)
    assert approvals.rule_for("emergency_repair", 500_001, 500_000, False, None) == (True, None)
    assert approvals.rule_for("maintenance", 1, 500_000, True, None) == (True, approvals.ART_281)
    assert approvals.rule_for("maintenance", 1, 500_000, False, "CONS-1") == (False, approvals.ART_278)
    with pytest.raises(ValidationFailed):
        approvals.rule_for("maintenance", 1, 500_000, False, None)


def _parse(text, **known):
    return csvimport.parse(text, known_complex=lambda c: c in ("X1", "X2"),
                           fund_exists=lambda f: f == "F", programme_exists=lambda g: g == "G",
                           project_exists=lambda p: p in known.get("projects", ()))


def test_csv_header_and_rows():
    _, problems = _parse("id,name,kind,colour\n")
    assert [(p.row, p.field) for p in problems] == [(1, "complex_ids"), (1, "starts_on"), (1, "colour")]
    rows = "id,name,kind,complex_ids,starts_on,ends_on,fund_id,budget_yuan,progress\n"
    _, problems = _parse(rows + "A,a,other,X1,2024-01-01,2023-01-01,F,1.005,101\n,b,other,X1,2024-01-01,,,,\n")
    assert [(p.row, p.field) for p in problems] == [(2, "budget_yuan"), (2, "ends_on"), (2, "progress"), (3, "id")]
    parsed, problems = _parse(rows + "A,a,other,X1;X2,2024-01-01,,F,0.01,5\n")
    assert problems == [] and parsed[0][0].budget_lines[0].amount == 1 and parsed[0][1] == 5
