"""Four-party deliberation (四方议事): matters, stages, meetings, implementation progress, materials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.contracts import mediation as c
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.mediation import chain, records
from redprop.services.mediation import models as m

JOINT_KINDS = ("joint_monthly", "joint_quarterly")


def load_matter(db: Session, district: str, matter_id: str, field: str = "matter_id"):
    row = db.execute(select(m.matters).where(m.matters.c.district == district, m.matters.c.id == matter_id)).first()
    if row is None:
        raise NotFound.entity("matter", matter_id, field)
    return row


def open_matter(db: Session, district: str, request: c.OpenMatterRequest, now: datetime) -> str:
    matter_id = new_id()
    at = request.opened_at or now
    links = [link.model_dump() for link in request.links]
    db.execute(insert(m.matters).values(
        district=district, id=matter_id, title=request.title, topic=request.topic, complex_id=request.complex_id,
        parties=list(request.parties), links=links, stage="research", opened_at=at, updated_at=now))
    db.execute(insert(m.matter_stages).values(district=district, matter_id=matter_id, stage="research",
                                              action="entered", at=at))
    chain.append(db, district, "matter_opened", matter_id, matter_id, {
        "matter_id": matter_id, "title": request.title, "topic": request.topic, "complex_id": request.complex_id,
        "parties": list(request.parties), "links": links, "opened_at": chain.stamp(at)}, now)
    return matter_id


def advance(db: Session, district: str, request: c.AdvanceMatterRequest, now: datetime) -> list[str]:
    """Move forward; returns the stages skipped (each recorded with the reason)."""
    row = load_matter(db, district, request.matter_id)
    current, target = c.STAGES.index(row.stage), c.STAGES.index(request.to_stage)
    if target <= current:
        raise Conflict(f"matter {row.id!r} is at {row.stage}; it can only move forward",
                       {"entity": "matter", "stage": row.stage, "field": "to_stage"})
    skipped = list(c.STAGES[current + 1:target])
    if skipped and request.skip_reason is None:
        raise ValidationFailed.for_field(
            "skip_reason", f"moving to {request.to_stage} skips {', '.join(skipped)}: record why", "missing")
    if not skipped and request.skip_reason is not None:
        raise ValidationFailed.for_field("skip_reason", "no stage is skipped", "unexpected")
    if request.to_stage in ("decision", "publication", "implementation", "post_evaluation"):
        _require_consultations_closed(db, district, row.id)
    at = request.at or now
    for stage in skipped:
        db.execute(insert(m.matter_stages).values(district=district, matter_id=row.id, stage=stage, action="skipped",
                                                  at=at, reason=request.skip_reason, decided_by=request.decided_by))
    db.execute(insert(m.matter_stages).values(district=district, matter_id=row.id, stage=request.to_stage,
                                              action="entered", at=at, decided_by=request.decided_by))
    db.execute(update(m.matters).where(m.matters.c.district == district, m.matters.c.id == row.id)
               .values(stage=request.to_stage, updated_at=now))
    chain.append(db, district, "stage", row.id, f"{row.id}:{request.to_stage}", {
        "matter_id": row.id, "from": row.stage, "to": request.to_stage, "skipped": skipped,
        "reason": request.skip_reason, "decided_by": request.decided_by, "at": chain.stamp(at)}, now)
    return skipped


def _require_consultations_closed(db: Session, district: str, matter_id: str) -> None:
    still_open = db.execute(select(m.consultations.c.id).where(
        m.consultations.c.district == district, m.consultations.c.matter_id == matter_id,
        m.consultations.c.state == "open")).scalars().all()
    if still_open:
        raise Conflict(f"consultation {still_open[0]!r} of this matter is still open; close it first",
                       {"entity": "consultation", "id": still_open[0]})


def record_meeting(db: Session, district: str, request: c.RecordMeetingRequest, now: datetime) -> str:
    if request.matter_id is not None:
        load_matter(db, district, request.matter_id)
    meeting_id = new_id()
    values = {
        "id": meeting_id, "matter_id": request.matter_id, "kind": request.kind, "held_at": request.held_at,
        "agenda": [a.model_dump() for a in request.agenda], "attendance": [a.model_dump() for a in request.attendance],
        "organisations": [o.model_dump() for o in request.organisations], "minutes": request.minutes,
        "resolved": [r.model_dump() for r in request.resolved],
    }
    db.execute(insert(m.meetings).values(district=district, **values))
    # A joint meeting has no single matter: its records are filed under the meeting itself.
    chain.append(db, district, "meeting", request.matter_id or meeting_id, meeting_id,
                 records.meeting_payload(values), now)
    return meeting_id


def meeting_info(row) -> c.MeetingInfo:
    return c.MeetingInfo(id=row.id, matter_id=row.matter_id, kind=row.kind, held_at=row.held_at, agenda=row.agenda,
                         attendance=row.attendance, organisations=row.organisations, minutes=row.minutes,
                         resolved=row.resolved)


def get_meeting(db: Session, district: str, meeting_id: str) -> c.MeetingInfo:
    row = db.execute(select(m.meetings).where(m.meetings.c.district == district, m.meetings.c.id == meeting_id)).one()
    return meeting_info(row)


def list_meetings(db: Session, district: str, request: c.ListMeetingsRequest) -> c.ListMeetingsReply:
    t = m.meetings
    conditions = [t.c.district == district]
    if request.kind is not None:
        conditions.append(t.c.kind == request.kind)
    if request.held_from is not None:
        conditions.append(t.c.held_at >= request.held_from)
    if request.held_to is not None:
        conditions.append(t.c.held_at < request.held_to)
    rows = db.execute(select(t).where(*conditions).order_by(t.c.held_at, t.c.id)).all()
    page = rows[request.offset:request.offset + request.limit]
    return c.ListMeetingsReply(items=[meeting_info(r) for r in page], total=len(rows),
                               resolved_items=sum(len(r.resolved) for r in rows))


def record_progress(db: Session, district: str, request: c.RecordProgressRequest, now: datetime) -> None:
    row = load_matter(db, district, request.matter_id)
    if c.STAGES.index(row.stage) < c.STAGES.index("implementation"):
        raise Conflict(f"matter {row.id!r} is at {row.stage}; progress is tracked from implementation on",
                       {"entity": "matter", "stage": row.stage})
    p = m.matter_progress
    last = db.execute(select(p.c.no, p.c.percent).where(p.c.district == district, p.c.matter_id == row.id)
                      .order_by(p.c.no.desc()).limit(1)).first()
    if last is not None and request.percent < last.percent:
        raise ValidationFailed.for_field("percent", f"progress was already {last.percent}%; it does not go back")
    no = (last.no if last else 0) + 1
    at = request.at or now
    db.execute(insert(p).values(district=district, matter_id=row.id, no=no, at=at, percent=request.percent,
                                note=request.note))
    chain.append(db, district, "progress", row.id, f"{row.id}:{no}", {
        "matter_id": row.id, "no": no, "percent": request.percent, "note": request.note, "at": chain.stamp(at)}, now)


def add_material(db: Session, district: str, request: c.AddMaterialRequest, now: datetime) -> int:
    """Materials live in the log only: the record is the material's registration."""
    exists = db.execute(select(m.matters.c.id).where(m.matters.c.district == district,
                                                     m.matters.c.id == request.matter_id)).first()
    if exists is None and not db.execute(select(m.cases.c.id).where(
            m.cases.c.district == district, m.cases.c.id == request.matter_id)).first():
        raise NotFound.entity("matter", request.matter_id, "matter_id")
    appended = chain.append(db, district, "material", request.matter_id, new_id(), {
        "title": request.title, "url": str(request.url), "sha256": request.sha256}, now)
    return appended.seq


def matter_info(db: Session, district: str, matter_id: str) -> c.MatterInfo:
    row = load_matter(db, district, matter_id)
    s, p = m.matter_stages, m.matter_progress
    stages = db.execute(select(s).where(s.c.district == district, s.c.matter_id == matter_id)).all()
    stages = sorted(stages, key=lambda r: c.STAGES.index(r.stage))
    meetings = db.execute(select(m.meetings).where(m.meetings.c.district == district,
                                                   m.meetings.c.matter_id == matter_id)
                          .order_by(m.meetings.c.held_at)).all()
    progress = db.execute(select(p).where(p.c.district == district, p.c.matter_id == matter_id).order_by(p.c.no)).all()
    consultations = db.execute(select(m.consultations.c.id).where(
        m.consultations.c.district == district, m.consultations.c.matter_id == matter_id)
        .order_by(m.consultations.c.opens_at)).scalars().all()
    return c.MatterInfo(
        district=row.district, id=row.id, title=row.title, topic=row.topic, complex_id=row.complex_id,
        parties=row.parties, stage=row.stage, opened_at=row.opened_at, links=row.links,
        stages=[c.StageEntry(stage=x.stage, action=x.action, at=x.at, reason=x.reason, decided_by=x.decided_by)
                for x in stages],
        meetings=[meeting_info(x) for x in meetings],
        progress=[c.ProgressEntry(at=x.at, percent=x.percent, note=x.note) for x in progress],
        consultations=list(consultations),
    )


def find_matters(db: Session, district: str, request: c.FindMattersRequest) -> c.FindMattersReply:
    t = m.matters
    conditions = [t.c.district == district]
    if request.title_contains is not None:
        conditions.append(func.lower(t.c.title).contains(request.title_contains.lower(), autoescape=True))
    if request.complex_id is not None:
        conditions.append(t.c.complex_id == request.complex_id)
    total = db.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
    rows = db.execute(select(t).where(*conditions).order_by(t.c.opened_at.desc(), t.c.id)
                      .limit(request.limit).offset(request.offset)).all()
    return c.FindMattersReply(total=total, items=[
        c.MatterSummary(id=r.id, title=r.title, topic=r.topic, complex_id=r.complex_id, stage=r.stage,
                        opened_at=r.opened_at) for r in rows])
