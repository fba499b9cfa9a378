"""Rows -> contract models."""

from __future__ import annotations

from redprop.contracts import participation as c


def activity(row, counts: tuple[int, int, int, float]) -> c.Activity:
    signed, checked, turns, hours = counts
    link = c.Link(kind=row.link_kind, id=row.link_id) if row.link_kind else None
    return c.Activity(district=row.district, id=row.id, kind=row.kind, title=row.title, community_id=row.community_id,
                      complex_id=row.complex_id, starts_at=row.starts_at, ends_at=row.ends_at,
                      organiser_id=row.organiser_id, link=link, signed_up=signed, checked_in=checked, turns=turns,
                      hours=hours)


def attendance(row) -> c.Attendance:
    return c.Attendance(activity_id=row.activity_id, person_id=row.person_id, signed_up_at=row.signed_up_at,
                        checked_in_at=row.checked_in_at)


def turn(row) -> c.Turn:
    return c.Turn(district=row.district, id=row.id, person_id=row.person_id, role=row.role,
                  hours=row.quarter_hours / 4, community_id=row.community_id, complex_id=row.complex_id,
                  unit_id=row.unit_id, activity_id=row.activity_id, task_id=row.task_id, at=row.at, year=row.year,
                  month=row.month)


def reward(row) -> c.Reward:
    return c.Reward(district=row.district, id=row.id, community_id=row.community_id, name=row.name, cost=row.cost,
                    stock=row.stock)


def pledge(row) -> c.Pledge:
    return c.Pledge(district=row.district, id=row.id, person_id=row.person_id, community_id=row.community_id,
                    complex_id=row.complex_id, pledge=row.pledge, responsibilities=list(row.responsibilities),
                    made_at=row.made_at)


def designation(row) -> c.Designation:
    return c.Designation(district=row.district, id=row.id, person_id=row.person_id, community_id=row.community_id,
                         post=row.post, year=row.year, criteria=row.criteria, decided_by=row.decided_by,
                         decided_at=row.decided_at)


def task(row) -> c.Task:
    return c.Task(district=row.district, id=row.id, community_id=row.community_id, assignee_id=row.assignee_id,
                  assignee_kind=row.assignee_kind, title=row.title, source=row.source, source_id=row.source_id,
                  due_on=row.due_on, state=row.state, assigned_by=row.assigned_by, assigned_at=row.assigned_at,
                  done_at=row.done_at, hours=row.quarter_hours / 4, note=row.note)


def entry(row) -> c.Entry:
    return c.Entry(transaction_id=row.transaction_id, kind=row.kind, amount=row.amount, reason=row.reason,
                   source=row.source, at=row.at)
