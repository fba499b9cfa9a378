"""The star-rating workflow, negative events, certificates and the annual dynamic review.

    apply (the company's self-assessment) -> review (community party committee) -> certify (housing
    department) -> certified, with a certificate valid for some years and reviewed every year:
    confirmed, upgraded, downgraded, or revoked (below three stars, or a negative event).

Each step scores the rubric's assessment items (its assessor's view) on the same evidence (the year's
committee scorecards and ticket KPIs), and keeps its explanation as it stood. Who may act is checked
by the service against the registry before these functions run; here the order is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.contracts import evaluation as c
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.evaluation import community, kpis, scorecards
from redprop.services.evaluation import models as m
from redprop.services.evaluation.counts import KpiCounts
from redprop.services.evaluation.periods import CHINA, of_year
from redprop.services.evaluation.rubrics import Rubric
from redprop.services.evaluation.scoring import Evidence, score

NEGATIVE_LABELS = {"major_safety_accident": "major safety accident", "maintenance_fund_misuse":
                   "misuse of the maintenance fund", "fraud": "fraud"}


def company_evidence(session: Session, district: str, company_id: str, periods: list[str]) -> Evidence:
    found = kpis.totals(session, district, "company", [company_id], periods)
    name = kpis.names_of(session, district, [company_id]).get(company_id)
    total = KpiCounts()
    rows = []
    for (_, period), (counts, at) in sorted(found.items()):
        total = total + counts
        rows.append(kpis.kpi_row("company", company_id, period, counts, name, at))
    cards = scorecards.evidence(session, district, [company_id], periods)
    return Evidence(periods=periods, kpi=total, kpi_rows=rows,
                    scorecards=[s for p in periods for s in cards.get((company_id, p), [])],
                    community=community.load(session, district, company_id, periods))


def negative_events(session: Session, district: str, company_id: str, since: date | None = None):
    n = m.negative_events
    query = select(n).where(n.c.district == district, n.c.company_id == company_id)
    if since is not None:
        query = query.where(n.c.occurred_on >= since)
    return session.execute(query.order_by(n.c.occurred_on)).all()


def _veto(events) -> str | None:
    if not events:
        return None
    e = events[-1]
    return f"{NEGATIVE_LABELS[e.kind]} on {e.occurred_on} ({e.id})"


def load(session: Session, district: str, rating_id: str, for_update: bool = False):
    query = select(m.ratings).where(m.ratings.c.district == district, m.ratings.c.id == rating_id)
    row = session.execute(query.with_for_update() if for_update else query).one_or_none()
    if row is None:
        raise NotFound.entity("rating", rating_id, "rating_id")
    return row


def certificate_status(row, today: date) -> str | None:
    if row.cert_stars is None:
        return None
    if row.cert_revoked:
        return "revoked"
    return "expired" if today > row.cert_valid_until else "active"


@dataclass
class StepResult:
    explanation: c.Explanation
    outcome: str


def _step(session: Session, district: str, rating_id: str, kind: str, actor: c.Assessor, year: int,
          scores: dict[str, Decimal], comment: str | None, explanation: c.Explanation, outcome: str,
          now: datetime) -> None:
    seq = (session.execute(select(m.rating_steps.c.seq).where(
        m.rating_steps.c.district == district, m.rating_steps.c.rating_id == rating_id)
        .order_by(m.rating_steps.c.seq.desc()).limit(1)).scalar_one_or_none() or 0) + 1
    session.execute(m.rating_steps.insert().values(
        district=district, rating_id=rating_id, seq=seq, step=kind, actor=actor.model_dump(), year=year,
        scores={k: str(v) for k, v in scores.items()}, comment=comment, total=str(explanation.total),
        stars=explanation.stars, grade=explanation.grade, outcome=outcome, at=now,
        explanation=explanation.model_dump(mode="json")))


def _assess(session, district, rubric: Rubric, company_id: str, year: int, scores, actor: c.Assessor,
            veto: str | None) -> tuple[dict[str, Decimal], c.Explanation]:
    checked = rubric.check_scores(scores, ("assessment",))
    evidence = company_evidence(session, district, company_id, of_year(year))
    return checked, score(rubric, evidence, checked, veto=veto, assessor=actor.organisation_id)


def apply(session: Session, district: str, rubric: Rubric, request: c.ApplyRequest, now: datetime,
          lookback_days: int) -> str:
    today = now.astimezone(CHINA).date()
    if request.year > today.year:
        raise ValidationFailed.for_field("year", f"{request.year} has not started; evidence comes from past quarters")
    r = m.ratings
    for other in session.execute(select(r).where(r.c.district == district, r.c.company_id == request.company_id)):
        if other.state in ("applied", "reviewed"):
            raise Conflict(f"{request.company_id} already has application {other.id} in progress",
                           {"rating_id": other.id})
        if other.state == "certified" and certificate_status(other, today) == "active":
            raise Conflict(f"{request.company_id} holds an active {other.cert_stars}-star certificate ({other.id}); "
                           "the annual review re-rates it", {"rating_id": other.id})
    since = min(date(request.year, 1, 1), today - timedelta(days=lookback_days))
    events = negative_events(session, district, request.company_id, since)
    if events:
        raise Conflict(f"{request.company_id} is not eligible: {_veto(events)}",
                       {"field": "company_id", "negative_events": [e.id for e in events]})
    scores, explanation = _assess(session, district, rubric, request.company_id, request.year, request.scores,
                                  request.actor, None)
    rating_id = "rt-" + new_id()[:16]
    session.execute(r.insert().values(district=district, id=rating_id, company_id=request.company_id,
                                      year=request.year, rubric=rubric.name, state="applied", created_at=now))
    _step(session, district, rating_id, "self_assessment", request.actor, request.year, scores, request.comment,
          explanation, "applied", now)
    return rating_id


def _require_state(row, states: tuple[str, ...], doing: str) -> None:
    if row.state not in states:
        hint = {"applied": "it has not been reviewed yet", "void": f"it is void: {row.void_reason}",
                "refused": "it was refused", "certified": "it is already certified",
                "reviewed": "it is already reviewed"}.get(row.state, row.state)
        raise Conflict(f"cannot {doing} rating {row.id}: {hint}", {"rating_id": row.id, "state": row.state})


def _check_rubric(row, rubric: Rubric) -> None:
    if row.rubric != rubric.name:
        raise Conflict(f"rating {row.id} was made with rubric {row.rubric}; the district now uses {rubric.name}",
                       {"rating_id": row.id})


def review(session: Session, district: str, rubric: Rubric, row, request: c.ReviewRequest, now: datetime) -> None:
    _require_state(row, ("applied",), "review")
    _check_rubric(row, rubric)
    scores, explanation = _assess(session, district, rubric, row.company_id, row.year, request.scores,
                                  request.actor, None)
    state = "reviewed" if request.recommend else "refused"
    _step(session, district, row.id, "review", request.actor, row.year, scores, request.comment, explanation,
          "recommended" if request.recommend else "not_recommended", now)
    session.execute(update(m.ratings).where(m.ratings.c.district == district, m.ratings.c.id == row.id)
                    .values(state=state))


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def certify(session: Session, district: str, rubric: Rubric, row, request: c.CertifyRequest, now: datetime,
            validity_years: int) -> c.Explanation:
    _require_state(row, ("reviewed",), "certify")
    _check_rubric(row, rubric)
    scores, explanation = _assess(session, district, rubric, row.company_id, row.year, request.scores,
                                  request.actor, None)
    today = now.astimezone(CHINA).date()
    if explanation.stars is None:
        values = {"state": "refused"}
        outcome = "below_threshold"
    else:
        values = {"state": "certified", "cert_stars": explanation.stars, "cert_issued_on": today,
                  "cert_valid_until": _years_later(today, validity_years), "cert_last_year": row.year}
        outcome = f"certified_{explanation.stars}_stars"
    _step(session, district, row.id, "certification", request.actor, row.year, scores, request.comment,
          explanation, outcome, now)
    session.execute(update(m.ratings).where(m.ratings.c.district == district, m.ratings.c.id == row.id).values(**values))
    return explanation


def annual_review(session: Session, district: str, rubric: Rubric, row, request: c.AnnualReviewRequest,
                  now: datetime) -> tuple[str, int | None, c.Explanation]:
    today = now.astimezone(CHINA).date()
    _require_state(row, ("certified",), "review annually")
    _check_rubric(row, rubric)
    status = certificate_status(row, today)
    if status != "active":
        raise Conflict(f"the certificate of rating {row.id} is {status}", {"rating_id": row.id, "status": status})
    if request.year <= row.cert_last_year:
        raise Conflict(f"rating {row.id} already rests on the evidence of {row.cert_last_year}; review a later year",
                       {"field": "year", "last_reviewed_year": row.cert_last_year})
    if request.year > today.year:
        raise ValidationFailed.for_field("year", f"{request.year} has not started")
    veto = _veto(negative_events(session, district, row.company_id, date(request.year, 1, 1)))
    scores, explanation = _assess(session, district, rubric, row.company_id, request.year, request.scores,
                                  request.actor, veto)
    new = explanation.stars
    if new is None:
        change = "revoked"
    else:
        change = ("confirmed" if new == row.cert_stars else "upgraded" if new > row.cert_stars else "downgraded")
    values: dict = {"cert_last_year": request.year}
    if change == "revoked":
        values["cert_revoked"] = veto or f"annual review {request.year}: total {explanation.total} is below three stars"
    else:
        values["cert_stars"] = new
    _step(session, district, row.id, "annual_review", request.actor, request.year, scores, request.comment,
          explanation, change, now)
    session.execute(update(m.ratings).where(m.ratings.c.district == district, m.ratings.c.id == row.id).values(**values))
    return change, new, explanation


def record_negative_event(session: Session, district: str, request: c.NegativeEventRequest, now: datetime
                          ) -> tuple[c.NegativeEvent, list[tuple[str, str]], list[tuple[str, int]]]:
    """Record it; void applications in progress and revoke active certificates of the company.
    Returns the event, the voided (id, state) and the revoked (id, stars)."""
    today = now.astimezone(CHINA).date()
    if request.occurred_on > today:
        raise ValidationFailed.for_field("occurred_on", "is in the future")
    event_id = "ne-" + new_id()[:16]
    session.execute(m.negative_events.insert().values(
        district=district, id=event_id, company_id=request.company_id, kind=request.kind,
        occurred_on=request.occurred_on, description=request.description,
        reported_by=request.reported_by.model_dump(), recorded_at=now))
    reason = f"{NEGATIVE_LABELS[request.kind]} on {request.occurred_on} ({event_id})"
    voided, revoked = [], []
    r = m.ratings
    for row in session.execute(select(r).where(r.c.district == district, r.c.company_id == request.company_id)
                               .with_for_update()).all():
        if row.state in ("applied", "reviewed"):
            session.execute(update(r).where(r.c.district == district, r.c.id == row.id)
                            .values(state="void", void_reason=reason))
            voided.append((row.id, row.state))
        elif row.state == "certified" and certificate_status(row, today) == "active":
            session.execute(update(r).where(r.c.district == district, r.c.id == row.id).values(cert_revoked=reason))
            revoked.append((row.id, row.cert_stars))
    event = c.NegativeEvent(id=event_id, company_id=request.company_id, kind=request.kind,
                            occurred_on=request.occurred_on, description=request.description,
                            reported_by=request.reported_by, recorded_at=now)
    return event, voided, revoked


def view(session: Session, district: str, row, today: date) -> c.Rating:
    steps = [c.Step(seq=s.seq, step=s.step, actor=c.Assessor.model_validate(s.actor), year=s.year,
                    scores={k: Decimal(v) for k, v in s.scores.items()}, comment=s.comment, total=Decimal(s.total),
                    stars=s.stars, grade=s.grade, outcome=s.outcome, at=s.at)
             for s in session.execute(select(m.rating_steps).where(
                 m.rating_steps.c.district == district, m.rating_steps.c.rating_id == row.id)
                 .order_by(m.rating_steps.c.seq))]
    certificate = None
    status = certificate_status(row, today)
    if status is not None:
        certificate = c.Certificate(stars=row.cert_stars, issued_on=row.cert_issued_on,
                                    valid_until=row.cert_valid_until, status=status, revoked_reason=row.cert_revoked,
                                    last_reviewed_year=row.cert_last_year)
    return c.Rating(district=district, id=row.id, company_id=row.company_id, year=row.year, rubric=row.rubric,
                    state=row.state, void_reason=row.void_reason, steps=steps, certificate=certificate)


def explanation_of(session: Session, district: str, rating_id: str, seq: int | None) -> tuple[int, str, c.Explanation]:
    s = m.rating_steps
    query = select(s).where(s.c.district == district, s.c.rating_id == rating_id)
    query = query.where(s.c.seq == seq) if seq is not None else query.order_by(s.c.seq.desc()).limit(1)
    row = session.execute(query).first()
    if row is None:
        load(session, district, rating_id)
        raise NotFound.entity("rating step", f"{rating_id}#{seq}", "seq")
    return row.seq, row.step, c.Explanation.model_validate(row.explanation)


def active_stars(session: Session, district: str, today: date) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in session.execute(select(m.ratings).where(m.ratings.c.district == district,
                                                       m.ratings.c.state == "certified")):
        if certificate_status(row, today) == "active":
            out[row.company_id] = max(out.get(row.company_id, 0), row.cert_stars)
    return out
