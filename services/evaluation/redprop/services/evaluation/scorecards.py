"""Quarterly scorecards: a complex's committee scores its property company on the rubric's items.

A scorecard has versions; a version never changes once recorded. Committee members sign a version; it
counts (becomes *effective*) once a majority of the committee signed it. The quarter locks when it
closes (its end plus the grace period, or ``close_period``): from then on no scorecard can be submitted
for it, versions recorded before the lock can no longer be signed, and the only change is a correction:
a new version with a reason, signed again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.contracts import evaluation as c
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from redprop.services.evaluation import models as m
from redprop.services.evaluation.periods import bounds, lock_time
from redprop.services.evaluation.rubrics import Rubric
from redprop.services.evaluation.scoring import ScorecardEvidence


def needed(members: int) -> int:
    return members // 2 + 1


def locked_at(session: Session, district: str, period: str, grace_days: int) -> datetime:
    closed = session.execute(select(m.periods.c.closed_at).where(
        m.periods.c.district == district, m.periods.c.period == period)).scalar_one_or_none()
    return closed if closed is not None else lock_time(period, grace_days)


def check_period_open(session: Session, district: str, period: str, now: datetime, grace_days: int) -> None:
    start, _ = bounds(period)
    if now < start:
        raise ValidationFailed.for_field("period", f"{period} has not started yet")
    lock = locked_at(session, district, period, grace_days)
    if now >= lock:
        raise Conflict(f"{period} is closed (locked at {lock:%Y-%m-%d %H:%M} UTC); correct an existing scorecard instead",
                       {"field": "period", "period": period})


def submit(session: Session, district: str, request: c.SubmitScorecardRequest, company_id: str, members: set[str],
           rubric: Rubric, now: datetime, grace_days: int) -> str:
    check_period_open(session, district, request.period, now, grace_days)
    if request.submitted_by not in members:
        raise PermissionDenied(f"{request.submitted_by} is not a member of committee {request.committee_id}",
                               {"field": "submitted_by"})
    scores = rubric.check_scores(request.scores, ("scorecard",))
    s = m.scorecards
    existing = session.execute(select(s.c.id).where(s.c.district == district, s.c.complex_id == request.complex_id,
                                                    s.c.period == request.period)).scalar_one_or_none()
    if existing is not None:
        raise Conflict(f"complex {request.complex_id} already has scorecard {existing} for {request.period}; "
                       "correct it instead", {"field": "period", "scorecard_id": existing})
    scorecard_id = "sc-" + new_id()[:16]
    session.execute(s.insert().values(
        district=district, id=scorecard_id, complex_id=request.complex_id, company_id=company_id,
        committee_id=request.committee_id, period=request.period, members=len(members), current_version=1,
        effective_version=None, created_at=now))
    _add_version(session, district, scorecard_id, 1, scores, request.comment, None, request.submitted_by, now)
    return scorecard_id


def _add_version(session, district, scorecard_id, version, scores, comment, reason, by, now) -> None:
    total = sum(scores.values(), Decimal("0.00"))
    session.execute(m.scorecard_versions.insert().values(
        district=district, scorecard_id=scorecard_id, version=version,
        scores={k: str(v) for k, v in scores.items()}, total=str(total), comment=comment, reason=reason,
        submitted_by=by, submitted_at=now))


def load(session: Session, district: str, scorecard_id: str, for_update: bool = False):
    query = select(m.scorecards).where(m.scorecards.c.district == district, m.scorecards.c.id == scorecard_id)
    row = session.execute(query.with_for_update() if for_update else query).one_or_none()
    if row is None:
        raise NotFound.entity("scorecard", scorecard_id, "scorecard_id")
    return row


def sign(session: Session, district: str, row, person_id: str, version: int | None, members: set[str],
         now: datetime, grace_days: int) -> None:
    if person_id not in members:
        raise PermissionDenied(f"{person_id} is not a member of committee {row.committee_id}", {"field": "person_id"})
    version = version or row.current_version
    if version != row.current_version:
        raise Conflict(f"version {version} is outdated; the current version is {row.current_version}",
                       {"field": "version", "current_version": row.current_version})
    v = m.scorecard_versions
    submitted_at = session.execute(select(v.c.submitted_at).where(
        v.c.district == district, v.c.scorecard_id == row.id, v.c.version == version)).scalar_one()
    lock = locked_at(session, district, row.period, grace_days)
    if now >= lock and submitted_at < lock:
        raise Conflict(f"{row.period} is locked: version {version} can no longer be signed; record a correction",
                       {"field": "version", "period": row.period})
    sig = m.scorecard_signatures
    if session.execute(select(sig.c.person_id).where(
            sig.c.district == district, sig.c.scorecard_id == row.id, sig.c.version == version,
            sig.c.person_id == person_id)).first():
        raise Conflict(f"{person_id} already signed version {version}", {"field": "person_id"})
    session.execute(sig.insert().values(district=district, scorecard_id=row.id, version=version,
                                        person_id=person_id, signed_at=now))
    count = session.execute(select(func.count()).select_from(sig).where(
        sig.c.district == district, sig.c.scorecard_id == row.id, sig.c.version == version)).scalar_one()
    if count >= needed(row.members) and (row.effective_version or 0) < version:
        session.execute(update(m.scorecards).where(m.scorecards.c.district == district, m.scorecards.c.id == row.id)
                        .values(effective_version=version))


def correct(session: Session, district: str, row, request: c.CorrectScorecardRequest, members: set[str],
            rubric: Rubric, now: datetime) -> None:
    if request.corrected_by not in members:
        raise PermissionDenied(f"{request.corrected_by} is not a member of committee {row.committee_id}",
                               {"field": "corrected_by"})
    scores = rubric.check_scores(request.scores, ("scorecard",))
    version = row.current_version + 1
    _add_version(session, district, row.id, version, scores, None, request.reason, request.corrected_by, now)
    session.execute(update(m.scorecards).where(m.scorecards.c.district == district, m.scorecards.c.id == row.id)
                    .values(current_version=version, members=len(members)))


def view(session: Session, district: str, row, now: datetime, grace_days: int) -> c.Scorecard:
    v, sig = m.scorecard_versions, m.scorecard_signatures
    signatures: dict[int, list[c.Signature]] = {}
    for s in session.execute(select(sig).where(sig.c.district == district, sig.c.scorecard_id == row.id)
                             .order_by(sig.c.version, sig.c.signed_at)):
        signatures.setdefault(s.version, []).append(c.Signature(person_id=s.person_id, signed_at=s.signed_at))
    versions = [
        c.ScorecardVersion(version=r.version, scores={k: Decimal(x) for k, x in r.scores.items()}, total=Decimal(r.total),
                           comment=r.comment, reason=r.reason, submitted_by=r.submitted_by,
                           submitted_at=r.submitted_at, signatures=signatures.get(r.version, []),
                           signed=len(signatures.get(r.version, [])) >= needed(row.members))
        for r in session.execute(select(v).where(v.c.district == district, v.c.scorecard_id == row.id)
                                 .order_by(v.c.version))]
    locked = now >= locked_at(session, district, row.period, grace_days)
    return c.Scorecard(district=district, id=row.id, complex_id=row.complex_id, company_id=row.company_id,
                       committee_id=row.committee_id, period=row.period, status="locked" if locked else "open",
                       members=row.members, signatures_needed=needed(row.members),
                       current_version=row.current_version, effective_version=row.effective_version,
                       versions=versions)


def list_rows(session: Session, district: str, request: c.ListScorecardsRequest):
    s = m.scorecards
    query = select(s).where(s.c.district == district)
    for name in ("period", "complex_id", "company_id"):
        value = getattr(request, name)
        if value is not None:
            query = query.where(s.c[name] == value)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(s.c.period.desc(), s.c.complex_id).limit(request.limit)
                           .offset(request.offset)).all()
    return rows, total


def evidence(session: Session, district: str, company_ids: list[str] | None, periods: list[str]
             ) -> dict[tuple[str, str], list[ScorecardEvidence]]:
    """(company_id, period) -> the effective (newest signed) versions of its complexes' scorecards."""
    s, v = m.scorecards, m.scorecard_versions
    query = (select(s.c.id, s.c.company_id, s.c.complex_id, s.c.period, v.c.version, v.c.scores)
             .join(v, (v.c.district == s.c.district) & (v.c.scorecard_id == s.c.id)
                   & (v.c.version == s.c.effective_version))
             .where(s.c.district == district, s.c.period.in_(periods)))
    if company_ids is not None:
        query = query.where(s.c.company_id.in_(company_ids))
    out: dict[tuple[str, str], list[ScorecardEvidence]] = {}
    for r in session.execute(query.order_by(s.c.complex_id)):
        out.setdefault((r.company_id, r.period), []).append(ScorecardEvidence(
            id=r.id, complex_id=r.complex_id, period=r.period, version=r.version,
            scores={k: Decimal(x) for k, x in r.scores.items()}))
    return out
