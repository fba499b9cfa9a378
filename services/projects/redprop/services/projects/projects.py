"""Projects: creation with budget lines and milestones, progress, status rules, links and the timeline.

Status: planned -> in_progress -> completed -> closed; planned or in_progress -> cancelled. Hearing before,
coordination during, evaluation after (事前听证、事中协调、事后评议): a project above ``hearing_above``
starts only once a hearing of a linked matter is recorded, and none closes before its post-evaluation.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.projects.models import (
    budget_lines,
    links,
    milestones,
    programmes,
    project_complexes,
    projects,
    timeline,
)

TRANSITIONS = {
    "planned": ("in_progress", "cancelled"),
    "in_progress": ("completed", "cancelled"),
    "completed": ("closed", "in_progress"),
    "closed": (),
    "cancelled": (),
}


def load(session: Session, district: str, project_id: str, field: str = "project_id", for_update: bool = False):
    p = projects.c
    query = select(projects).where(p.district == district, p.id == project_id)
    if for_update:
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None:
        raise NotFound.entity("project", project_id, field)
    return row


def load_programme(session: Session, district: str, programme_id: str, field: str = "programme_id"):
    g = programmes.c
    row = session.execute(select(programmes).where(g.district == district, g.id == programme_id)).first()
    if row is None:
        raise NotFound.entity("programme", programme_id, field)
    return row


def note(session: Session, district: str, project_id: str, actor: str, change: str, now, **detail) -> None:
    t = timeline.c
    seq = session.execute(select(func.coalesce(func.max(t.seq), 0)).where(
        t.district == district, t.project_id == project_id)).scalar_one() + 1
    session.execute(insert(timeline).values(district=district, project_id=project_id, seq=seq, at=now, actor=actor,
                                            change=change, detail=detail))


def check_milestone_date(starts_on, due_on, field: str) -> None:
    if due_on < starts_on:
        raise ValidationFailed.for_field(field, f"{due_on} is before the project starts ({starts_on})",
                                         "before_start")


def create(session: Session, district: str, request, now, *, prefix: str = "") -> None:
    """Write a new project (the caller checked its complexes, funds and links at their sources)."""
    if session.execute(select(projects.c.id).where(projects.c.district == district,
                                                   projects.c.id == request.id)).first():
        raise Conflict(f"project {request.id} exists", {"field": f"{prefix}id"})
    programme_id = request.programme_id
    if request.parent_id is not None:
        parent = load(session, district, request.parent_id, f"{prefix}parent_id")
        if parent.status in ("closed", "cancelled"):
            raise Conflict(f"project {parent.id} is {parent.status}", {"field": f"{prefix}parent_id"})
        if programme_id is not None and parent.programme_id not in (None, programme_id):
            raise ValidationFailed.for_field(f"{prefix}programme_id", f"the parent project {parent.id} is in "
                                             f"programme {parent.programme_id}")
        programme_id = programme_id or parent.programme_id
    if programme_id is not None:
        load_programme(session, district, programme_id, f"{prefix}programme_id")
    for n, m in enumerate(request.milestones):
        check_milestone_date(request.starts_on, m.due_on, f"{prefix}milestones.{n}.due_on")
    seen = set()
    for n, line in enumerate(request.budget_lines):
        if line.fund_id in seen:
            raise ValidationFailed.for_field(f"{prefix}budget_lines.{n}.fund_id", f"{line.fund_id} is listed twice")
        seen.add(line.fund_id)
    session.execute(insert(projects).values(
        district=district, id=request.id, name=request.name, kind=request.kind, programme_id=programme_id,
        parent_id=request.parent_id, status="planned", starts_on=request.starts_on, ends_on=request.ends_on,
        progress=0, created_at=now))
    session.execute(insert(project_complexes), [{"district": district, "project_id": request.id, "complex_id": c}
                                                for c in request.complex_ids])
    if request.budget_lines:
        session.execute(insert(budget_lines), [{"district": district, "project_id": request.id,
                                                "fund_id": line.fund_id, "amount": line.amount}
                                               for line in request.budget_lines])
    if request.milestones:
        session.execute(insert(milestones), [{"district": district, "project_id": request.id, "seq": n + 1,
                                              "title": m.title, "due_on": m.due_on}
                                             for n, m in enumerate(request.milestones)])
    for link in request.links:
        add_link(session, district, request.id, link.kind, link.id, link.title)
    note(session, district, request.id, request.actor, "created", now, status="planned",
         budget={line.fund_id: line.amount for line in request.budget_lines}, complexes=list(request.complex_ids))


def complexes_of(session: Session, district: str, project_id: str) -> list[str]:
    pc = project_complexes.c
    return list(session.execute(select(pc.complex_id).where(pc.district == district, pc.project_id == project_id)
                                .order_by(pc.complex_id)).scalars())


def add_milestone(session: Session, district: str, project, title: str, due_on, actor: str, now) -> int:
    check_milestone_date(project.starts_on, due_on, "due_on")
    ms = milestones.c
    seq = session.execute(select(func.coalesce(func.max(ms.seq), 0)).where(
        ms.district == district, ms.project_id == project.id)).scalar_one() + 1
    session.execute(insert(milestones).values(district=district, project_id=project.id, seq=seq, title=title,
                                              due_on=due_on))
    note(session, district, project.id, actor, "milestone_added", now, seq=seq, title=title, due_on=str(due_on))
    return seq


def record_progress(session: Session, district: str, project, has_children: bool, percent: int,
                    done: list[int], text: str, actor: str, now) -> list[str]:
    """A leaf's progress; returns the titles of the milestones done now."""
    if has_children:
        raise Conflict(f"the progress of {project.id} is rolled up from its sub-projects; record theirs",
                       {"field": "project_id"})
    if project.status != "in_progress":
        raise Conflict(f"project {project.id} is {project.status}; progress is recorded while in progress",
                       {"field": "project_id"})
    ms = milestones.c
    titles = []
    for n, seq in enumerate(done):
        row = session.execute(select(milestones).where(ms.district == district, ms.project_id == project.id,
                                                       ms.seq == seq)).first()
        if row is None:
            raise ValidationFailed.for_field(f"milestones_done.{n}", f"project {project.id} has no milestone {seq}",
                                             "unknown_milestone")
        if row.done_on is None:
            session.execute(update(milestones).where(ms.district == district, ms.project_id == project.id,
                                                     ms.seq == seq).values(done_on=now.date()))
            titles.append(row.title)
    session.execute(update(projects).where(projects.c.district == district, projects.c.id == project.id)
                    .values(progress=percent))
    note(session, district, project.id, actor, "progress", now, percent=percent, before=project.progress, note=text,
         milestones_done=done)
    return titles


def set_status(session: Session, district: str, project, status: str, progress: int, actor: str, text: str,
               now) -> None:
    """Change the status (the hearing is checked by the caller, which asks mediation)."""
    if status not in TRANSITIONS[project.status]:
        raise Conflict(f"project {project.id} is {project.status}; it cannot become {status}", {"field": "status"})
    if status == "completed" and progress < 100:
        raise Conflict(f"project {project.id} is at {progress}%; it completes at 100%", {"field": "status"})
    if status == "closed" and project.post_evaluation is None:
        raise Conflict(f"project {project.id} has no post-evaluation (事后评议); record it before closing",
                       {"field": "status"})
    session.execute(update(projects).where(projects.c.district == district, projects.c.id == project.id)
                    .values(status=status))
    note(session, district, project.id, actor, "status", now, before=project.status, status=status, note=text)


def add_link(session: Session, district: str, project_id: str, kind: str, ref_id: str, title: str | None) -> bool:
    lk = links.c
    if session.execute(select(lk.ref_id).where(lk.district == district, lk.project_id == project_id,
                                               lk.kind == kind, lk.ref_id == ref_id)).first():
        return False
    session.execute(insert(links).values(district=district, project_id=project_id, kind=kind, ref_id=ref_id,
                                         title=title))
    return True


def linked(session: Session, district: str, project_id: str, kind: str | None = None) -> list:
    lk = links.c
    query = select(links).where(lk.district == district, lk.project_id == project_id)
    if kind is not None:
        query = query.where(lk.kind == kind)
    return session.execute(query.order_by(lk.kind, lk.ref_id)).all()


def started_at(session: Session, district: str, project_id: str):
    """When the work began: the timeline's first move to in_progress."""
    t = timeline.c
    for row in session.execute(select(timeline).where(t.district == district, t.project_id == project_id,
                                                      t.change == "status").order_by(t.seq)):
        if row.detail.get("status") == "in_progress":
            return row.at
    return None


def record_post_evaluation(session: Session, district: str, project, evaluation: dict, actor: str, now) -> None:
    if project.status not in ("completed", "in_progress"):
        raise Conflict(f"project {project.id} is {project.status}; the post-evaluation follows the work",
                       {"field": "project_id"})
    session.execute(update(projects).where(projects.c.district == district, projects.c.id == project.id)
                    .values(post_evaluation=evaluation))
    note(session, district, project.id, actor, "post_evaluation", now, matter_id=evaluation["matter_id"],
         meeting_id=evaluation["meeting_id"])
