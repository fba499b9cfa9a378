"""Dispute cases: intake, mediators, sessions, outcomes, follow-up and statistics."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.contracts import mediation as c
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.mediation import agreements, chain, records
from redprop.services.mediation import models as m
from redprop.services.mediation.rules import fraction_text
from redprop.services.mediation.timelimits import TimeLimitPolicy

OPEN_STATES = ("open", "mediating")
LEVELS = ("grid", "community", "subdistrict", "district")
SECONDS_PER_DAY = Decimal(86400)


def load_case_row(db: Session, district: str, case_id: str, field: str = "case_id"):
    row = db.execute(select(m.cases).where(m.cases.c.district == district, m.cases.c.id == case_id)).first()
    if row is None:
        raise NotFound.entity("case", case_id, field)
    return row


def case_info(db: Session, district: str, case_id: str) -> c.CaseInfo:
    row = load_case_row(db, district, case_id)
    mediators = db.execute(select(m.case_mediators).where(
        m.case_mediators.c.district == district, m.case_mediators.c.case_id == case_id)
        .order_by(m.case_mediators.c.assigned_at, m.case_mediators.c.person_id)).all()
    sessions = db.execute(select(m.case_sessions).where(
        m.case_sessions.c.district == district, m.case_sessions.c.case_id == case_id)
        .order_by(m.case_sessions.c.scheduled_at)).all()
    performance = db.execute(select(m.case_performance).where(
        m.case_performance.c.district == district, m.case_performance.c.case_id == case_id)
        .order_by(m.case_performance.c.term_no)).all()
    return c.CaseInfo(
        district=row.district, id=row.id, category=row.category, summary=row.summary, description=row.description,
        level=row.level, scope_id=row.scope_id, source=row.source, ticket_id=row.ticket_id, parties=row.parties,
        attachments=row.attachments, state=row.state, opened_at=row.opened_at, settle_by=row.settle_by,
        concluded_at=row.concluded_at, outcome=row.outcome, confirm_by=row.confirm_by,
        mediators=[c.MediatorRef(person_id=x.person_id, kind=x.kind, role_id=x.role_id, open_cases=x.open_cases)
                   for x in mediators],
        sessions=[c.SessionInfo(id=s.id, scheduled_at=s.scheduled_at, place=s.place, held_at=s.held_at,
                                notes=s.notes) for s in sessions],
        performance=[c.PerformanceInfo(term_no=p.term_no, performed_on=p.performed_on, note=p.note)
                     for p in performance],
        mediator_answers=agreements.answers_of(db, district, case_id),
        agreement=agreements.agreement_info(db, district, row),
        referrals=agreements.referrals_of(db, district, case_id),
    )


def open_case(db: Session, district: str, request: c.OpenCaseRequest, settle_within: timedelta,
              now: datetime) -> tuple[str, bool]:
    """(case id, created). A second intake of the same ticket returns the first case."""
    if request.ticket_id is not None:
        existing = db.execute(select(m.cases.c.id).where(
            m.cases.c.district == district, m.cases.c.ticket_id == request.ticket_id)).scalar()
        if existing is not None:
            return existing, False
    opened_at = request.opened_at or now
    case_id = new_id()
    parties = [p.model_dump(mode="json") for p in request.parties]
    db.execute(insert(m.cases).values(
        district=district, id=case_id, category=request.category, summary=request.summary,
        description=request.description, level=request.level, scope_id=request.scope_id, source=request.source,
        ticket_id=request.ticket_id, parties=parties, attachments=[str(u) for u in request.attachments],
        state="open", opened_at=opened_at, settle_by=opened_at + settle_within, updated_at=now))
    chain.append(db, district, "case_opened", case_id, case_id, {
        "case_id": case_id, "category": request.category, "summary": request.summary,
        "description": request.description, "level": request.level, "scope_id": request.scope_id,
        "source": request.source, "ticket_id": request.ticket_id, "parties": parties,
        "attachments": [str(u) for u in request.attachments], "opened_at": chain.stamp(opened_at),
    }, now)
    return case_id, True


def require_open(row, action: str) -> None:
    if row.state not in OPEN_STATES:
        raise Conflict(f"case {row.id!r} is {row.state}; cannot {action}",
                       {"entity": "case", "id": row.id, "state": row.state})


def open_load(db: Session, district: str, person_ids: list[str]) -> Counter:
    """Open cases per mediator (the workload balanced on)."""
    if not person_ids:
        return Counter()
    rows = db.execute(
        select(m.case_mediators.c.person_id, func.count())
        .join(m.cases, (m.cases.c.district == m.case_mediators.c.district) & (m.cases.c.id == m.case_mediators.c.case_id))
        .where(m.case_mediators.c.district == district, m.case_mediators.c.person_id.in_(person_ids),
               m.cases.c.state.in_(OPEN_STATES))
        .group_by(m.case_mediators.c.person_id)).all()
    return Counter({pid: n for pid, n in rows})


def assign_mediators(db: Session, district: str, row, candidates: list[tuple[str, list[tuple[str, str]]]],
                     now: datetime) -> list[c.MediatorRef]:
    """Pick, for each kind, the candidate (person_id, role_id) with the fewest open cases."""
    require_open(row, "assign mediators")
    already = {p for (p,) in db.execute(select(m.case_mediators.c.person_id).where(
        m.case_mediators.c.district == district, m.case_mediators.c.case_id == row.id))}
    # Art. 23: a mediator a party objected to is not put on the case again.
    already |= agreements.objected(db, district, row.id)
    load = open_load(db, district, sorted({p for _, cands in candidates for p, _ in cands}))
    chosen: list[c.MediatorRef] = []
    missing = []
    for n, (kind, cands) in enumerate(candidates):
        free = [(load[p], p, r) for p, r in cands if p not in already]
        if not free:
            missing.append({"field": f"kinds.{n}", "message": f"no {kind} available in the registry for this case",
                            "type": "not_available"})
            continue
        count, person_id, role_id = min(free)
        already.add(person_id)
        load[person_id] += 1
        chosen.append(c.MediatorRef(person_id=person_id, kind=kind, role_id=role_id, open_cases=count))
    if missing:
        raise ValidationFailed.for_fields(missing)
    for ref in chosen:
        db.execute(insert(m.case_mediators).values(district=district, case_id=row.id, assigned_at=now,
                                                   **ref.model_dump()))
    db.execute(update(m.cases).where(m.cases.c.district == district, m.cases.c.id == row.id)
               .values(state="mediating", updated_at=now))
    return chosen


def schedule_session(db: Session, district: str, row, request: c.ScheduleSessionRequest, now: datetime) -> str:
    require_open(row, "schedule a session")
    session_id = new_id()
    db.execute(insert(m.case_sessions).values(district=district, id=session_id, case_id=row.id,
                                              scheduled_at=request.scheduled_at, place=request.place))
    db.execute(update(m.cases).where(m.cases.c.district == district, m.cases.c.id == row.id)
               .values(state="mediating", updated_at=now))
    return session_id


def record_session(db: Session, district: str, row, request: c.RecordSessionRequest, now: datetime) -> None:
    require_open(row, "record a session")
    s = m.case_sessions
    session_row = db.execute(select(s).where(s.c.district == district, s.c.id == request.session_id,
                                             s.c.case_id == row.id)).first()
    if session_row is None:
        raise NotFound.entity("session", request.session_id, "session_id")
    if session_row.held_at is not None:
        raise Conflict(f"session {request.session_id!r} was already recorded", {"entity": "session"})
    if request.held_at < row.opened_at:
        raise ValidationFailed.for_field("held_at", "a session cannot be held before the case was opened")
    db.execute(update(s).where(s.c.district == district, s.c.id == request.session_id)
               .values(held_at=request.held_at, notes=request.notes))
    stored = db.execute(select(s).where(s.c.district == district, s.c.id == request.session_id)).one()
    chain.append(db, district, "session_minutes", row.id, request.session_id,
                 records.session_payload(stored._mapping), now)


def conclude(db: Session, district: str, row, request: c.ConcludeCaseRequest, policy: TimeLimitPolicy,
             now: datetime) -> tuple[str, Decimal | None]:
    """Record the outcome; returns (new state, days from opening).

    A written agreement is only drafted here: the case stays ``mediating`` (days None) until the parties,
    a mediator and the committee's seal are on it (``agreements.sign``, Art. 30).
    """
    require_open(row, "conclude it")
    outcome = request.outcome
    at = request.concluded_at or now
    if at < row.opened_at:
        raise ValidationFailed.for_field("concluded_at", "a case cannot conclude before it was opened")
    if at > now:
        raise ValidationFailed.for_field("concluded_at", "a case cannot be concluded ahead of time")
    party_ids = {p["id"] for p in row.parties}
    if isinstance(outcome, c.Agreement):
        agreements.check_contents(row, outcome, agreements.mediators_of(db, district, row.id))
        agreements.draft(db, district, row, outcome, at, now)
        if outcome.form == "written":
            return "mediating", None
        # Art. 30: an oral agreement takes effect the day the parties reach it.
        agreements.take_effect(db, district, row.id, at, policy, now)
        return "settled", _days(row.opened_at, at)
    if isinstance(outcome, c.Withdrawal):
        if outcome.withdrawn_by not in party_ids:
            raise ValidationFailed.for_field("outcome.withdrawn_by", f"{outcome.withdrawn_by!r} is not a party to the case",
                                             "not_a_party")
        state, kind, confirm_by = "withdrawn", "case_outcome", None
    else:
        state, kind, confirm_by = "failed", "case_outcome", None
    db.execute(update(m.cases).where(m.cases.c.district == district, m.cases.c.id == row.id).values(
        state=state, concluded_at=at, outcome=outcome.model_dump(mode="json"), confirm_by=confirm_by,
        updated_at=now))
    stored = load_case_row(db, district, row.id)
    chain.append(db, district, kind, row.id, row.id, records.outcome_payload(stored._mapping), now)
    return state, _days(row.opened_at, at)


def _days(opened_at: datetime, at: datetime) -> Decimal:
    return (Decimal((at - opened_at).total_seconds()) / SECONDS_PER_DAY).quantize(Decimal("0.01"), ROUND_HALF_UP)


def record_performance(db: Session, district: str, row, request: c.RecordPerformanceRequest, now: datetime) -> None:
    if row.state != "settled":
        raise Conflict(f"case {row.id!r} is {row.state}; only an agreement's terms are performed",
                       {"entity": "case", "state": row.state})
    terms = row.outcome["terms"]
    if request.term_no > len(terms):
        raise ValidationFailed.for_field("term_no", f"the agreement has {len(terms)} terms")
    p = m.case_performance
    if db.execute(select(p.c.term_no).where(p.c.district == district, p.c.case_id == row.id,
                                            p.c.term_no == request.term_no)).first():
        raise Conflict(f"term {request.term_no} of case {row.id!r} is already recorded as performed", {"entity": "term"})
    db.execute(insert(p).values(district=district, case_id=row.id, term_no=request.term_no,
                                performed_on=request.performed_on, note=request.note, recorded_at=now))
    chain.append(db, district, "performance", row.id, f"{row.id}:{request.term_no}", {
        "case_id": row.id, "term_no": request.term_no, "performed_on": request.performed_on.isoformat(),
        "note": request.note}, now)


def list_cases(db: Session, district: str, request: c.ListCasesRequest) -> c.ListCasesReply:
    conditions = [m.cases.c.district == district]
    for column in ("state", "level", "scope_id"):
        value = getattr(request, column)
        if value is not None:
            conditions.append(m.cases.c[column] == value)
    total = db.execute(select(func.count()).select_from(m.cases).where(*conditions)).scalar_one()
    ids = db.execute(select(m.cases.c.id).where(*conditions).order_by(m.cases.c.opened_at, m.cases.c.id)
                     .limit(request.limit).offset(request.offset)).scalars().all()
    return c.ListCasesReply(items=[case_info(db, district, i) for i in ids], total=total)


def state_counts(db: Session, district: str) -> dict[tuple[str, str], int]:
    rows = db.execute(select(m.cases.c.state, m.cases.c.level, func.count()).where(m.cases.c.district == district)
                      .group_by(m.cases.c.state, m.cases.c.level)).all()
    return {(s, lv): n for s, lv, n in rows}


def statistics(db: Session, district: str, request: c.StatisticsRequest) -> c.StatisticsReply:
    conditions = [m.cases.c.district == district]
    if request.opened_from is not None:
        conditions.append(m.cases.c.opened_at >= request.opened_from)
    if request.opened_to is not None:
        conditions.append(m.cases.c.opened_at < request.opened_to)
    rows = db.execute(select(m.cases.c.level, m.cases.c.state, m.cases.c.opened_at, m.cases.c.concluded_at)
                      .where(*conditions)).all()
    by_level: dict[str, list] = defaultdict(list)
    for r in rows:
        by_level[r.level].append(r)
    levels = [_level_stats(lv, by_level[lv]) for lv in LEVELS if by_level.get(lv)]
    total = _level_stats(LEVELS[-1], rows) if rows else None
    return c.StatisticsReply(district=district, levels=levels, total=total)


def _level_stats(level: str, rows) -> c.LevelStatistics:
    states = Counter(r.state for r in rows)
    settled, failed = states["settled"], states["failed"]
    rate = Fraction(settled, settled + failed) if settled + failed else None
    durations = [Decimal((r.concluded_at - r.opened_at).total_seconds()) / SECONDS_PER_DAY
                 for r in rows if r.concluded_at is not None]
    return c.LevelStatistics(
        level=level, screened=len(rows), settled=settled, failed=failed, withdrawn=states["withdrawn"],
        in_progress=states["open"] + states["mediating"],
        success_rate=fraction_text(rate) if rate is not None else None,
        success_percent=(Decimal(rate.numerator * 100) / rate.denominator).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if rate is not None else None,
        mean_days_to_settle=(sum(durations) / len(durations)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if durations else None,
    )
