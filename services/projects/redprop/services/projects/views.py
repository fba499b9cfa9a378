"""Rows -> contract models."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.contracts import projects as c
from redprop.services.projects import approvals
from redprop.services.projects import projects as work
from redprop.services.projects.models import (
    allocations,
    budget_lines,
    funds,
    milestones,
    movements,
    timeline,
)
from redprop.services.projects.rollup import Tree


def fund(session: Session, row) -> c.Fund:
    a = allocations.c
    allocs = session.execute(select(allocations).where(a.district == row.district, a.fund_id == row.id)
                             .order_by(a.year)).all()
    return c.Fund(district=row.district, id=row.id, kind=row.kind, name=row.name, scope_id=row.scope_id,
                  complex_id=row.complex_id, community_id=row.community_id, subdistrict_id=row.subdistrict_id,
                  balance=row.balance, allocated=row.allocated, drawn=row.drawn, held=row.held,
                  allocations=[c.Allocation(year=x.year, amount=x.amount) for x in allocs])


def movement(session: Session, row) -> c.Movement:
    given = approvals.given(session, row.district, row.id) if row.kind == "draw" else []
    return c.Movement(
        id=row.id, fund_id=row.fund_id, kind=row.kind, amount=row.amount, status=row.status, year=row.year,
        serves=c.Serves(kind=row.serves_kind, id=row.serves_id) if row.serves_kind else None, purpose=row.purpose,
        legal_basis=row.legal_basis, actor=row.actor, at=row.at, balance_after=row.balance_after,
        approvals=[c.Approval(level=g.level, person_id=g.person_id, at=g.at) for g in given],
        awaiting=approvals.awaiting(given) if row.status == "pending_approval" else [])


def spent_by_fund(session: Session, district: str, project_ids: list[str]) -> dict[str, int]:
    m = movements.c
    if not project_ids:
        return {}
    return {f: int(s) for f, s in session.execute(select(m.fund_id, func.sum(m.amount)).where(
        m.district == district, m.kind == "draw", m.status == "paid", m.serves_kind == "project",
        m.serves_id.in_(project_ids)).group_by(m.fund_id))}


def project(session: Session, row, tree: Tree, hearing_above_fen: int, with_timeline: bool = True) -> c.Project:
    d = row.district
    b, f, ms, t = budget_lines.c, funds.c, milestones.c, timeline.c
    lines = session.execute(select(b.fund_id, b.amount, f.kind).join(
        funds, (f.district == b.district) & (f.id == b.fund_id)).where(b.district == d, b.project_id == row.id)
        .order_by(b.fund_id)).all()
    spent = spent_by_fund(session, d, [row.id])
    stones = session.execute(select(milestones).where(ms.district == d, ms.project_id == row.id)
                             .order_by(ms.seq)).all()
    entries = session.execute(select(timeline).where(t.district == d, t.project_id == row.id)
                              .order_by(t.seq)).all() if with_timeline else []
    budget = tree.budget(row.id)
    return c.Project(
        district=d, id=row.id, name=row.name, kind=row.kind, complex_ids=work.complexes_of(session, d, row.id),
        programme_id=row.programme_id, parent_id=row.parent_id, status=row.status, starts_on=row.starts_on,
        ends_on=row.ends_on, progress=tree.progress(row.id), rolled_up=bool(tree.children(row.id)), budget=budget,
        spent=tree.spent(row.id),
        budget_lines=[c.BudgetLineInfo(fund_id=x.fund_id, fund_kind=x.kind, amount=x.amount,
                                       spent=spent.get(x.fund_id, 0)) for x in lines],
        milestones=[c.Milestone(seq=s.seq, title=s.title, due_on=s.due_on, done_on=s.done_on) for s in stones],
        links=[c.ProjectLink(kind=x.kind, id=x.ref_id, title=x.title) for x in work.linked(session, d, row.id)],
        children=tree.children(row.id),
        timeline=[c.TimelineEntry(seq=e.seq, at=e.at, actor=e.actor, change=e.change, detail=e.detail)
                  for e in entries],
        post_evaluation=c.PostEvaluation(**row.post_evaluation) if row.post_evaluation else None,
        hearing_required=budget > hearing_above_fen)
