"""What a company did in the communities it serves, as evidence for the rubric's team-building and
social-image items (issue 17's "team building" and "social image" aspects, issue 18's "the company's part
in a renovation"):

- a turn of service by the company's staff (participation's ``turn_recorded`` with ``unit_id`` the company);
- a task the company took as a paired or reporting unit and did (``task_done``, assignee the company);
- a milestone reached by a project in a complex the company manages (projects' ``project_changed``).

Each fact is stored once under its own key (the turn, the task, the project's milestone), so a redelivered
or replayed event adds nothing. The points stay the assessor's: this is what they see beside the item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from redprop.services.evaluation import models as m
from redprop.services.evaluation.periods import period_of

KINDS = ("turn", "task", "milestone")


@dataclass(frozen=True)
class CommunityEvidence:
    kind: str
    ref_id: str
    company_id: str
    period: str
    title: str
    hours: Decimal
    at: datetime

    def as_input(self) -> dict:
        return {"kind": self.kind, "id": self.ref_id, "period": self.period, "title": self.title,
                "hours": f"{float(self.hours):g}", "at": self.at.isoformat()}


def record(session: Session, district: str, source: str, company_id: str, kind: str, ref_id: str, title: str,
           at: datetime, hours: float = 0) -> bool:
    """Store a fact once per ``source``; False if it was already there."""
    e = m.community_evidence
    if session.execute(select(e.c.source).where(e.c.district == district, e.c.source == source)).first():
        return False
    session.execute(e.insert().values(district=district, source=source, company_id=company_id, kind=kind,
                                      period=period_of(at), ref_id=ref_id, title=title[:2000],
                                      hours=str(Decimal(str(hours))), at=at))
    return True


def load(session: Session, district: str, company_id: str, periods: list[str]) -> list[CommunityEvidence]:
    e = m.community_evidence
    rows = session.execute(select(e).where(e.c.district == district, e.c.company_id == company_id,
                                           e.c.period.in_(periods)).order_by(e.c.at, e.c.source))
    return [CommunityEvidence(kind=r.kind, ref_id=r.ref_id, company_id=r.company_id, period=r.period, title=r.title,
                              hours=Decimal(r.hours), at=r.at) for r in rows]


def summary(found: list[CommunityEvidence]) -> str:
    """One line for an item's basis: how many of each kind, and the hours of the turns and tasks."""
    parts = []
    for kind, label in (("turn", "turns of service"), ("task", "paired-unit tasks done"),
                        ("milestone", "project milestones")):
        these = [f for f in found if f.kind == kind]
        if these:
            hours = sum((f.hours for f in these), Decimal(0))
            parts.append(f"{len(these)} {label}" + (f" ({float(hours):g} h)" if kind != "milestone" else ""))
    return "; ".join(parts) if parts else "none in the period"
