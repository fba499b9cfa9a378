"""Activities, sign-up, check-in and turns, and the totals of turns per person, unit, community and
Beijing year or month."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.contracts import participation as c
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.participation import models as m
from redprop.services.participation.periods import year_month


def load(session: Session, district: str, activity_id: str, field: str = "activity_id"):
    a = m.activities
    row = session.execute(select(a).where(a.c.district == district, a.c.id == activity_id)).first()
    if row is None:  # an activity of another district is not found here either
        raise NotFound.entity("activity", activity_id, field)
    return row


def create(session: Session, district: str, request: c.CreateActivityRequest, now: datetime) -> str:
    activity_id = new_id()
    session.execute(m.activities.insert().values(
        district=district, id=activity_id, kind=request.kind, title=request.title,
        community_id=request.community_id, complex_id=request.complex_id, starts_at=request.starts_at,
        ends_at=request.ends_at, organiser_id=request.actor,
        link_kind=request.link.kind if request.link else None, link_id=request.link.id if request.link else None,
        created_at=now))
    return activity_id


def check_organiser(row, actor: str) -> None:
    from redprop.errors import PermissionDenied

    if row.organiser_id != actor:
        raise PermissionDenied(f"only the organiser of activity {row.id} ({row.organiser_id}) checks people in "
                               f"and records turns", {"field": "actor"})


def _attendance(session: Session, district: str, activity_id: str, person_id: str):
    t = m.attendance
    return session.execute(select(t).where(t.c.district == district, t.c.activity_id == activity_id,
                                           t.c.person_id == person_id)).first()


def sign_up(session: Session, district: str, row, person_id: str, now: datetime):
    if now >= row.ends_at:
        raise ValidationFailed.for_field("activity_id", f"activity {row.id} ended at {row.ends_at.isoformat()}")
    if _attendance(session, district, row.id, person_id) is None:
        session.execute(m.attendance.insert().values(district=district, activity_id=row.id, person_id=person_id,
                                                     signed_up_at=now))
    return _attendance(session, district, row.id, person_id)


def check_in(session: Session, district: str, row, person_id: str, now: datetime):
    if now < row.starts_at:
        raise ValidationFailed.for_field("activity_id", f"activity {row.id} has not started yet "
                                                        f"(it starts at {row.starts_at.isoformat()})")
    t = m.attendance
    existing = _attendance(session, district, row.id, person_id)
    if existing is None:  # walk-ins are welcome: checked in without signing up
        session.execute(t.insert().values(district=district, activity_id=row.id, person_id=person_id,
                                          checked_in_at=now))
    elif existing.checked_in_at is None:
        session.execute(t.update().where(t.c.district == district, t.c.activity_id == row.id,
                                         t.c.person_id == person_id).values(checked_in_at=now))
    return _attendance(session, district, row.id, person_id)


def add_turn(session: Session, district: str, *, person_id: str, role: str, hours: float, community_id: str,
             complex_id: str | None, at: datetime, unit_id: str | None = None, activity_id: str | None = None,
             task_id: str | None = None) -> str:
    turn_id = new_id()
    year, month = year_month(at)
    if activity_id is not None:  # one turn per person and activity (the unique key guards a race)
        t = m.turns
        if session.execute(select(t.c.id).where(t.c.district == district, t.c.activity_id == activity_id,
                                                t.c.person_id == person_id)).first() is not None:
            raise Conflict(f"{person_id} already has a turn at activity {activity_id}",
                           {"field": "person_id", "activity_id": activity_id})
    session.execute(m.turns.insert().values(
        district=district, id=turn_id, person_id=person_id, role=role, quarter_hours=round(hours * 4),
        community_id=community_id, complex_id=complex_id, unit_id=unit_id, activity_id=activity_id,
        task_id=task_id, at=at, year=year, month=month))
    return turn_id


def record_turn(session: Session, district: str, row, request: c.RecordTurnRequest) -> str:
    attendance = _attendance(session, district, row.id, request.person_id)
    if attendance is None or attendance.checked_in_at is None:
        raise ValidationFailed.for_field("person_id", f"{request.person_id} was not checked in to activity {row.id}")
    # The turn counts in the period the activity took place (Beijing time), not when it was written down.
    return add_turn(session, district, person_id=request.person_id, role=request.role, hours=request.hours,
                    community_id=row.community_id, complex_id=row.complex_id, at=row.starts_at,
                    unit_id=request.unit_id, activity_id=row.id)


def load_turn(session: Session, district: str, turn_id: str):
    t = m.turns
    return session.execute(select(t).where(t.c.district == district, t.c.id == turn_id)).one()


def _period(query, table, period: str):
    if len(period) == 4:
        return query.where(table.c.year == int(period))
    return query.where(table.c.month == period)


def list_turns(session: Session, district: str, request: c.ListTurnsRequest):
    t = m.turns
    query = select(t).where(t.c.district == district, t.c.person_id == request.person_id)
    if request.period:
        query = _period(query, t, request.period)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(t.c.at.desc(), t.c.id).limit(request.limit).offset(request.offset)).all()
    return rows, total


SCOPE_COLUMN = {"person": "person_id", "unit": "unit_id", "community": "community_id"}


def totals(session: Session, district: str, request: c.TotalsRequest) -> c.TotalsReply:
    """One grouped query: turns, hours and people per role in the period."""
    t = m.turns
    if request.scope == "district" and request.id != district:
        raise ValidationFailed.for_field("id", f"this release serves district {district}, not {request.id}")
    query = select(t.c.role, func.count(), func.sum(t.c.quarter_hours)).where(t.c.district == district)
    people = select(func.count(distinct(t.c.person_id))).where(t.c.district == district)
    if request.scope != "district":
        column = t.c[SCOPE_COLUMN[request.scope]]
        query, people = query.where(column == request.id), people.where(column == request.id)
    query, people = _period(query, t, request.period), _period(people, t, request.period)
    if request.role:
        query, people = query.where(t.c.role == request.role), people.where(t.c.role == request.role)
    by_role = [c.RoleTotal(role=role, turns=n, hours=(q or 0) / 4)
               for role, n, q in session.execute(query.group_by(t.c.role).order_by(t.c.role)).all()]
    return c.TotalsReply(scope=request.scope, id=request.id, period=request.period, role=request.role,
                         turns=sum(r.turns for r in by_role), hours=sum(r.hours for r in by_role),
                         people=session.execute(people).scalar_one(), by_role=by_role)


def counts(session: Session, district: str, activity_id: str) -> tuple[int, int, int, float]:
    a, t = m.attendance, m.turns
    signed = session.execute(select(func.count()).where(a.c.district == district, a.c.activity_id == activity_id,
                                                        a.c.signed_up_at.is_not(None))).scalar_one()
    checked = session.execute(select(func.count()).where(a.c.district == district, a.c.activity_id == activity_id,
                                                         a.c.checked_in_at.is_not(None))).scalar_one()
    n, q = session.execute(select(func.count(), func.sum(t.c.quarter_hours)).where(
        t.c.district == district, t.c.activity_id == activity_id)).one()
    return signed, checked, n, (q or 0) / 4


def list_rows(session: Session, district: str, request: c.ListActivitiesRequest):
    a = m.activities
    query = select(a).where(a.c.district == district)
    if request.community_id:
        query = query.where(a.c.community_id == request.community_id)
    rows = session.execute(query.order_by(a.c.starts_at.desc(), a.c.id)).all()
    if request.period:  # Beijing periods of the start
        rows = [r for r in rows if request.period in (str(year_month(r.starts_at)[0]), year_month(r.starts_at)[1])]
    return rows[request.offset:request.offset + request.limit], len(rows)
