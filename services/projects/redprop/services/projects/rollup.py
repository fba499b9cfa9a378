"""Progress rolled up: a leaf project has its own progress; a project with sub-projects takes the
budget-weighted mean of theirs (the plain mean when none has a budget), at any depth; a programme the same
over its top-level projects. Computed on read from one pass over the district's projects, so a child's
change moves every parent at once and nothing stored can go stale."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.services.projects.models import budget_lines, movements, projects


@dataclass
class Node:
    id: str
    parent_id: str | None
    programme_id: str | None
    own_progress: int
    own_budget: int
    own_spent: int
    children: list[str] = field(default_factory=list)


def _rounded(x: Fraction) -> int:
    return int(x + Fraction(1, 2)) if x >= 0 else 0


class Tree:
    """Every project of the district with its budget and spending; progress, budget and spent of any node."""

    def __init__(self, session: Session, district: str):
        p, b, m = projects.c, budget_lines.c, movements.c
        budgets = dict(session.execute(select(b.project_id, func.sum(b.amount)).where(b.district == district)
                                       .group_by(b.project_id)).all())
        spent = dict(session.execute(select(m.serves_id, func.sum(m.amount)).where(
            m.district == district, m.kind == "draw", m.status == "paid", m.serves_kind == "project")
            .group_by(m.serves_id)).all())
        self.nodes: dict[str, Node] = {}
        for row in session.execute(select(p.id, p.parent_id, p.programme_id, p.progress).where(p.district == district)):
            self.nodes[row.id] = Node(row.id, row.parent_id, row.programme_id, row.progress,
                                      int(budgets.get(row.id) or 0), int(spent.get(row.id) or 0))
        self.by_programme: dict[str, list[str]] = defaultdict(list)
        for node in self.nodes.values():
            if node.parent_id in self.nodes:
                self.nodes[node.parent_id].children.append(node.id)
            elif node.programme_id:
                self.by_programme[node.programme_id].append(node.id)
        for node in self.nodes.values():
            node.children.sort()
        self._memo: dict[str, tuple[Fraction, int, int]] = {}

    def _of(self, project_id: str) -> tuple[Fraction, int, int]:
        """(progress, budget, spent) of a node and everything under it."""
        if project_id not in self._memo:
            node = self.nodes[project_id]
            if not node.children:
                self._memo[project_id] = (Fraction(node.own_progress), node.own_budget, node.own_spent)
            else:
                parts = [self._of(c) for c in node.children]
                self._memo[project_id] = (_weighted(parts), node.own_budget + sum(p[1] for p in parts),
                                          node.own_spent + sum(p[2] for p in parts))
        return self._memo[project_id]

    def progress(self, project_id: str) -> int:
        return _rounded(self._of(project_id)[0])

    def budget(self, project_id: str) -> int:
        return self._of(project_id)[1]

    def spent(self, project_id: str) -> int:
        return self._of(project_id)[2]

    def children(self, project_id: str) -> list[str]:
        return self.nodes[project_id].children

    def descendants(self, project_id: str) -> list[str]:
        out, todo = [], list(self.children(project_id))
        while todo:
            child = todo.pop()
            out.append(child)
            todo.extend(self.children(child))
        return out

    def programme(self, programme_id: str) -> tuple[int, int, int, int]:
        """(progress, budget, spent, top-level projects) of a programme."""
        tops = self.by_programme.get(programme_id, [])
        parts = [self._of(t) for t in tops]
        return (_rounded(_weighted(parts)) if parts else 0, sum(p[1] for p in parts), sum(p[2] for p in parts),
                len(tops))


def _weighted(parts: list[tuple[Fraction, int, int]]) -> Fraction:
    total = sum(budget for _, budget, _ in parts)
    if total == 0:
        return sum((progress for progress, _, _ in parts), Fraction(0)) / len(parts)
    return sum((progress * budget for progress, budget, _ in parts), Fraction(0)) / total
