"""Party members' public commitments: pledges with their responsibility lists (亮身份、亮承诺, 党员责任清单),
the three posts (三岗联创: 责任岗、示范岗、先锋岗) and the tasks that pledgers and the units and in-service
members reporting to a community (报到) take on, done with hours that become turns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.contracts import participation as c
from redprop.errors import Conflict, NotFound
from redprop.services.participation import activities
from redprop.services.participation import models as m


def pledge(session: Session, district: str, request: c.PledgeRequest, now: datetime) -> str:
    pledge_id = new_id()
    session.execute(m.pledges.insert().values(
        district=district, id=pledge_id, person_id=request.actor, community_id=request.community_id,
        complex_id=request.complex_id, pledge=request.pledge, responsibilities=list(request.responsibilities),
        made_at=now))
    return pledge_id


def load_pledge(session: Session, district: str, pledge_id: str):
    p = m.pledges
    return session.execute(select(p).where(p.c.district == district, p.c.id == pledge_id)).one()


def has_pledged(session: Session, district: str, person_id: str, community_id: str) -> bool:
    p = m.pledges
    return session.execute(select(p.c.id).where(p.c.district == district, p.c.person_id == person_id,
                                                p.c.community_id == community_id)).first() is not None


def designate(session: Session, district: str, request: c.DesignateRequest, now: datetime) -> str:
    d = m.designations
    if session.execute(select(d.c.id).where(d.c.district == district, d.c.community_id == request.community_id,
                                            d.c.person_id == request.person_id, d.c.post == request.post,
                                            d.c.year == request.year)).first() is not None:
        raise Conflict(f"{request.person_id} already holds the {request.post} post of {request.year}",
                       {"field": "post"})
    designation_id = new_id()
    session.execute(d.insert().values(district=district, id=designation_id, person_id=request.person_id,
                                      community_id=request.community_id, post=request.post, year=request.year,
                                      criteria=request.criteria, decided_by=request.actor, decided_at=now))
    return designation_id


def load_designation(session: Session, district: str, designation_id: str):
    d = m.designations
    return session.execute(select(d).where(d.c.district == district, d.c.id == designation_id)).one()


def assign(session: Session, district: str, request: c.AssignTaskRequest, now: datetime) -> str:
    task_id = new_id()
    session.execute(m.tasks.insert().values(
        district=district, id=task_id, community_id=request.community_id, assignee_id=request.assignee_id,
        assignee_kind=request.assignee_kind, title=request.title, source=request.source,
        source_id=request.source_id, due_on=request.due_on, state="open", assigned_by=request.actor,
        assigned_at=now, quarter_hours=0))
    return task_id


def load_task(session: Session, district: str, task_id: str, for_update: bool = False):
    t = m.tasks
    query = select(t).where(t.c.district == district, t.c.id == task_id)
    row = session.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound.entity("task", task_id, "task_id")
    return row


def complete(session: Session, district: str, row, request: c.CompleteTaskRequest, now: datetime) -> list[str]:
    """Mark the task done and record a turn for each person who worked on it: ``unit_staff`` for a unit
    (the turn counts for the unit), ``party_member`` for a pledging member. Returns the turn ids."""
    if row.state == "done":
        raise Conflict(f"task {row.id} is already done", {"field": "task_id"})
    t = m.tasks
    session.execute(t.update().where(t.c.district == district, t.c.id == row.id).values(
        state="done", done_at=now, quarter_hours=round(request.hours * 4) * len(request.people), note=request.note))
    role = "unit_staff" if row.assignee_kind == "unit" else "party_member"
    unit = row.assignee_id if row.assignee_kind == "unit" else None
    return [activities.add_turn(session, district, person_id=person, role=role, hours=request.hours,
                                community_id=row.community_id, complex_id=None, at=now, unit_id=unit, task_id=row.id)
            for person in dict.fromkeys(request.people)]


def list_tasks(session: Session, district: str, request: c.ListTasksRequest):
    t = m.tasks
    query = select(t).where(t.c.district == district, t.c.community_id == request.community_id)
    if request.assignee_id:
        query = query.where(t.c.assignee_id == request.assignee_id)
    if request.state:
        query = query.where(t.c.state == request.state)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(t.c.assigned_at.desc(), t.c.id).limit(request.limit)
                           .offset(request.offset)).all()
    return rows, total
