"""A community's public board (亮身份、亮承诺): what any resident sees. Names, posts, pledges and what was
done; the board is built from names alone, so no phone number or other contact detail can reach it."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.contracts import participation as c
from redprop.db.upsert import upsert
from redprop.services.participation import models as m


def remember_name(session: Session, district: str, id_: str, name: str) -> None:
    n = m.names
    session.execute(upsert(session, n, ("district", "id"), update=("name",)),
                    {"district": district, "id": id_, "name": name})


def names_of(session: Session, district: str, ids: set[str]) -> dict[str, str]:
    n = m.names
    if not ids:
        return {}
    return dict(session.execute(select(n.c.id, n.c.name).where(n.c.district == district, n.c.id.in_(ids))).all())


def build(session: Session, district: str, community_id: str, community_name: str, complex_id: str | None,
          year: int, reports: list, kinds: dict[str, str], name_of) -> c.BoardReply:
    """``reports``: the registry's report records of the community, ``kinds`` each reporter's kind (``unit``
    or ``member``); ``name_of(id)``: a name not yet kept."""
    p, d, t, tk = m.pledges, m.designations, m.turns, m.tasks
    pledges = select(p).where(p.c.district == district, p.c.community_id == community_id)
    if complex_id is not None:
        pledges = pledges.where(p.c.complex_id == complex_id)
    by_person: dict[str, list] = defaultdict(list)
    for row in session.execute(pledges.order_by(p.c.made_at)).all():
        by_person[row.person_id].append(row)
    posts: dict[str, list[str]] = defaultdict(list)
    for person, post in session.execute(select(d.c.person_id, d.c.post).where(
            d.c.district == district, d.c.community_id == community_id, d.c.year == year).order_by(d.c.post)).all():
        if complex_id is None or person in by_person:
            posts[person].append(post)
    done = dict(session.execute(select(tk.c.assignee_id, func.count()).where(
        tk.c.district == district, tk.c.community_id == community_id, tk.c.state == "done")
        .group_by(tk.c.assignee_id)).all())
    turns = {person: (n, (q or 0) / 4) for person, n, q in session.execute(
        select(t.c.person_id, func.count(), func.sum(t.c.quarter_hours)).where(
            t.c.district == district, t.c.community_id == community_id, t.c.year == year).group_by(t.c.person_id))}
    unit_hours = {unit: (q or 0) / 4 for unit, q in session.execute(
        select(t.c.unit_id, func.sum(t.c.quarter_hours)).where(
            t.c.district == district, t.c.community_id == community_id, t.c.year == year,
            t.c.unit_id.is_not(None)).group_by(t.c.unit_id))}

    people = set(by_person) | set(posts)
    units = {r.reporter_id for r in reports}
    names = names_of(session, district, people | units)
    for id_ in (people | units) - set(names):
        names[id_] = name_of(id_)  # a query writes nothing: the name is kept when the person pledges

    members = [c.BoardMember(person_id=person, name=names[person], posts=posts.get(person, []),
                             pledges=[r.pledge for r in by_person.get(person, [])],
                             responsibilities=[x for r in by_person.get(person, []) for x in r.responsibilities],
                             tasks_done=done.get(person, 0), turns=turns.get(person, (0, 0.0))[0],
                             hours=turns.get(person, (0, 0.0))[1])
               for person in sorted(people, key=lambda x: (names[x], x))]
    board_units = []
    for report in sorted(reports, key=lambda r: (r.reported_on, r.reporter_id)):
        kind = kinds[report.reporter_id]
        hours = unit_hours.get(report.reporter_id, 0.0) if kind == "unit" else turns.get(report.reporter_id,
                                                                                          (0, 0.0))[1]
        board_units.append(c.BoardUnit(id=report.reporter_id, name=names[report.reporter_id], kind=kind,
                                       reported_on=report.reported_on, tasks_done=done.get(report.reporter_id, 0),
                                       hours=hours))
    vol_n, vol_q = session.execute(select(func.count(), func.sum(t.c.quarter_hours)).where(
        t.c.district == district, t.c.community_id == community_id, t.c.year == year,
        t.c.role == "volunteer")).one()
    return c.BoardReply(community_id=community_id, community_name=community_name, complex_id=complex_id, year=year,
                        members=members, units=board_units, volunteer_turns=vol_n, volunteer_hours=(vol_q or 0) / 4)
