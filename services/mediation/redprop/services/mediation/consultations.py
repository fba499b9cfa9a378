"""Owners' consultations (征询): electorate snapshot, ballots with history, tallies decided by a rule."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.contracts import mediation as c
from redprop.contracts.registry import ElectorateReply
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from redprop.services.mediation import chain, records
from redprop.services.mediation import models as m
from redprop.services.mediation.rules import Tally, VotingRule, fraction_text

CENT = Decimal("0.01")
#: A ballot's cast_at may run ahead of the service's clock by this much (clock skew), no more.
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: Stages at which a matter may still open a consultation.
CONSULTABLE_STAGES = ("research", "symposium", "consultation")


def area(value) -> Decimal:
    return Decimal(value).quantize(CENT)


# -- opening -------------------------------------------------------------------------------------


def electorate_digest(voters: Iterable[Mapping]) -> str:
    """SHA-256 over the snapshot, so the log proves which electorate a consultation counted."""
    rows = sorted(([v["household_id"], v["building_id"], v["unit"], str(area(v["area_m2"])), sorted(v["owner_ids"])]
                   for v in voters), key=lambda r: r[0])
    return hashlib.sha256(chain.canonical_json(rows).encode()).hexdigest()


def open_consultation(db: Session, district: str, request: c.OpenConsultationRequest, electorate: ElectorateReply,
                      enabled_rules: list[str], now: datetime) -> str:
    matter = db.execute(select(m.matters).where(m.matters.c.district == district,
                                                m.matters.c.id == request.matter_id)).first()
    if matter is None:
        raise NotFound.entity("matter", request.matter_id, "matter_id")
    if matter.stage not in CONSULTABLE_STAGES:
        raise Conflict(f"matter {matter.id!r} is at {matter.stage}; a consultation comes before the decision",
                       {"entity": "matter", "stage": matter.stage})
    if request.rule not in enabled_rules:
        raise ValidationFailed.for_field("rule", f"rule {request.rule!r} is not enabled here "
                                                 f"(enabled: {', '.join(enabled_rules)})", "unknown_rule")
    scope_field = "complex_id" if request.complex_id is not None else "building_ids"
    voters = [v for v in electorate.households if v.owner_ids]
    if not voters:
        raise ValidationFailed.for_field(scope_field, "the registry lists no household with an owner there", "empty")
    if electorate.district != district:
        raise Conflict("the registry answered for another district", {"district": electorate.district})
    consultation_id = new_id()
    snapshot = [{"district": district, "consultation_id": consultation_id, "household_id": v.household_id,
                 "building_id": v.building_id, "unit": v.unit, "area_m2": area(v.area_m2),
                 "owner_ids": list(v.owner_ids)} for v in electorate.households]
    total_area = sum((area(v.area_m2) for v in electorate.households), Decimal("0.00"))
    total_owners = len(voters)
    digest = electorate_digest(snapshot)
    options = [o.model_dump(mode="json") for o in request.options]
    db.execute(insert(m.consultations).values(
        district=district, id=consultation_id, matter_id=request.matter_id, question=request.question,
        options=options, approve_option=request.approve_option, rule=request.rule, opens_at=request.opens_at,
        closes_at=request.closes_at, state="open", electorate_households=len(snapshot), total_area_m2=total_area,
        total_owners=total_owners, electorate_digest=digest, ballot_count=0))
    db.execute(insert(m.voters), snapshot)
    chain.append(db, district, "consultation_opened", request.matter_id, consultation_id,
                 records.opened_payload(consultation_id, request.question, options, request.approve_option, request.rule,
                                request.opens_at, request.closes_at, len(snapshot), total_area, total_owners, digest),
                 now)
    return consultation_id


def load(db: Session, district: str, consultation_id: str, field: str = "consultation_id"):
    row = db.execute(select(m.consultations).where(m.consultations.c.district == district,
                                                   m.consultations.c.id == consultation_id)).first()
    if row is None:
        raise NotFound.entity("consultation", consultation_id, field)
    return row


def info(db: Session, district: str, row, publish_within: timedelta) -> c.ConsultationInfo:
    return c.ConsultationInfo(
        district=row.district, id=row.id, matter_id=row.matter_id, question=row.question, options=row.options,
        approve_option=row.approve_option, rule=row.rule, opens_at=row.opens_at, closes_at=row.closes_at,
        state=row.state, electorate_households=row.electorate_households, total_area_m2=area(row.total_area_m2),
        total_owners=row.total_owners, electorate_digest=row.electorate_digest, closed_at=row.closed_at,
        publish_by=row.closed_at + publish_within if row.closed_at else None, published_at=row.published_at,
        result=row.result)


# -- ballots -------------------------------------------------------------------------------------


def cast_ballot(db: Session, district: str, request: c.CastBallotRequest, now: datetime) -> tuple[dict, str | None]:
    """Store and log a ballot; returns (ballot row values, id of the ballot it supersedes)."""
    row = load(db, district, request.consultation_id)
    if row.state != "open":
        raise Conflict(f"consultation {row.id!r} is {row.state}; no more ballots",
                       {"entity": "consultation", "state": row.state, "field": "consultation_id"})
    cast_at = request.cast_at or now
    if cast_at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed.for_field("cast_at", "a ballot cannot be cast in the future")
    # An online ballot counts when it arrives; a paper ballot when it was filled in (entered later by staff).
    counted_at = now if request.channel == "online" else cast_at
    if counted_at < row.opens_at:
        raise Conflict(f"consultation {row.id!r} opens at {row.opens_at.isoformat()}",
                       {"entity": "consultation", "opens_at": row.opens_at.isoformat(), "field": "cast_at"})
    if counted_at > row.closes_at:
        raise Conflict(f"consultation {row.id!r} closed at {row.closes_at.isoformat()}; the ballot is late",
                       {"entity": "consultation", "closes_at": row.closes_at.isoformat(), "field": "cast_at"})
    if request.option not in {o["id"] for o in row.options}:
        raise ValidationFailed.for_field("option", f"not an option of this consultation "
                                                   f"({', '.join(o['id'] for o in row.options)})", "unknown_option")
    voter = db.execute(select(m.voters).where(
        m.voters.c.district == district, m.voters.c.consultation_id == row.id,
        m.voters.c.household_id == request.household_id)).first()
    if voter is None:
        raise PermissionDenied(f"household {request.household_id!r} is not in this consultation's electorate",
                               {"field": "household_id", "household_id": request.household_id})
    if request.owner_id not in voter.owner_ids:
        raise PermissionDenied(f"{request.owner_id!r} is not an owner of household {request.household_id!r}",
                               {"field": "owner_id", "owner_id": request.owner_id, "household_id": request.household_id})
    # Bumping the counter takes the consultation's row lock: ballots of one consultation queue here.
    seq = db.execute(update(m.consultations).where(m.consultations.c.district == district,
                                                   m.consultations.c.id == row.id)
                     .values(ballot_count=m.consultations.c.ballot_count + 1)
                     .returning(m.consultations.c.ballot_count)).scalar_one()
    b = m.ballots
    previous = db.execute(select(b.c.id).where(
        b.c.district == district, b.c.consultation_id == row.id, b.c.household_id == request.household_id,
        b.c.superseded_by.is_(None))).scalar()
    values = {"id": new_id(), "consultation_id": row.id, "seq": seq, "household_id": request.household_id,
              "owner_id": request.owner_id, "option": request.option, "channel": request.channel,
              "entered_by": request.entered_by, "cast_at": cast_at}
    appended = chain.append(db, district, "ballot", row.matter_id, values["id"], records.ballot_payload(values), now)
    values["record_seq"] = appended.seq
    db.execute(insert(b).values(district=district, **values))
    if previous is not None:
        db.execute(update(b).where(b.c.district == district, b.c.id == previous).values(superseded_by=values["id"]))
    return values, previous


def ballot_info(row: Mapping) -> c.BallotInfo:
    return c.BallotInfo(**{k: row[k] for k in c.BallotInfo.model_fields})


def list_ballots(db: Session, district: str, request: c.BallotsRequest) -> c.BallotsReply:
    load(db, district, request.consultation_id)
    b = m.ballots
    conditions = [b.c.district == district, b.c.consultation_id == request.consultation_id]
    if request.household_id is not None:
        conditions.append(b.c.household_id == request.household_id)
    rows = db.execute(select(b).where(*conditions).order_by(b.c.seq)).all()
    page = rows[request.offset:request.offset + request.limit]
    return c.BallotsReply(items=[ballot_info(r._mapping) for r in page], total=len(rows))


# -- counting ------------------------------------------------------------------------------------


@dataclass
class Count:
    tally: Tally
    options: dict[str, dict[str, str]] = field(default_factory=dict)
    paper: int = 0


def count(voters: Iterable[tuple[str, Decimal, bool]], effective: Mapping[str, tuple[str, str]],
          approve_option: str, option_ids: Iterable[str]) -> Count:
    """Count effective ballots. ``voters``: (household, area, has an owner); ``effective``: household ->
    (option, channel). Pure and exact, so the benchmark measures exactly this."""
    total_area = Decimal("0.00")
    total_owners = 0
    part_area, approve_area = Decimal("0.00"), Decimal("0.00")
    part_owners = approve_owners = paper = 0
    per_option_area: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    per_option_households: Counter = Counter()
    for household_id, household_area, has_owner in voters:
        total_area += household_area
        if not has_owner:
            continue
        total_owners += 1
        ballot = effective.get(household_id)
        if ballot is None:
            continue
        option, channel = ballot
        part_area += household_area
        part_owners += 1
        per_option_area[option] += household_area
        per_option_households[option] += 1
        paper += channel == "paper"
        if option == approve_option:
            approve_area += household_area
            approve_owners += 1
    options = {o: {"households": str(per_option_households[o]), "area_m2": str(per_option_area[o])}
               for o in option_ids}
    return Count(Tally(total_area, total_owners, part_area, part_owners, approve_area, approve_owners),
                 options, paper)


def _ratio_info(part, whole, value: Fraction) -> c.RatioInfo:
    percent = (Decimal(value.numerator * 100) / Decimal(value.denominator)).quantize(CENT, ROUND_HALF_UP)
    return c.RatioInfo(part=str(part), whole=str(whole), ratio=fraction_text(value), percent=percent)


def tally(db: Session, district: str, row, rule: VotingRule) -> c.ConsultationResult:
    v, b = m.voters, m.ballots
    voters = [(h, area(a), bool(owners)) for h, a, owners in db.execute(
        select(v.c.household_id, v.c.area_m2, v.c.owner_ids)
        .where(v.c.district == district, v.c.consultation_id == row.id))]
    effective = {h: (o, ch) for h, o, ch in db.execute(
        select(b.c.household_id, b.c.option, b.c.channel)
        .where(b.c.district == district, b.c.consultation_id == row.id, b.c.superseded_by.is_(None)))}
    superseded = row.ballot_count - len(effective)
    counted = count(voters, effective, row.approve_option, [o["id"] for o in row.options])
    t = counted.tally
    decision = rule.decide(t)
    return c.ConsultationResult(
        rule=rule.name, rule_description=rule.description, passed=decision.passed, decided_by=decision.decided_by,
        explanation=decision.explanation(),
        total_area_m2=t.total_area, total_owners=t.total_owners, participating_area_m2=t.participating_area,
        participating_owners=t.participating_owners, approving_area_m2=t.approving_area,
        approving_owners=t.approving_owners,
        participation_by_area=_ratio_info(t.participating_area, t.total_area, t.participation_by_area),
        participation_by_headcount=_ratio_info(t.participating_owners, t.total_owners, t.participation_by_headcount),
        approval_by_area=_ratio_info(t.approving_area, t.participating_area, t.approval_by_area),
        approval_by_headcount=_ratio_info(t.approving_owners, t.participating_owners, t.approval_by_headcount),
        checks=[c.RuleCheck(name=k.name, value=fraction_text(k.value), threshold=fraction_text(k.threshold),
                            comparison=k.comparison, passed=k.passed) for k in decision.checks],
        options=counted.options, paper_ballots=counted.paper, superseded_ballots=superseded,
    )


# -- closing and publishing ----------------------------------------------------------------------


def close(db: Session, district: str, request: c.CloseConsultationRequest, rule: VotingRule,
          now: datetime) -> tuple[c.ConsultationResult, int]:
    row = load(db, district, request.consultation_id)
    if row.state != "open":
        raise Conflict(f"consultation {row.id!r} is already {row.state}", {"entity": "consultation", "state": row.state})
    at = request.at or now
    if at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed.for_field("at", "a consultation cannot be closed in the future")
    if at < row.closes_at:
        raise Conflict(f"consultation {row.id!r} runs until {row.closes_at.isoformat()}",
                       {"entity": "consultation", "closes_at": row.closes_at.isoformat(), "field": "at"})
    # Lock the row (and any ballot racing in) before counting.
    db.execute(update(m.consultations).where(m.consultations.c.district == district, m.consultations.c.id == row.id)
               .values(state="closed", closed_at=at))
    row = load(db, district, row.id)
    result = tally(db, district, row, rule)
    db.execute(update(m.consultations).where(m.consultations.c.district == district, m.consultations.c.id == row.id)
               .values(result=result.model_dump(mode="json")))
    row = load(db, district, row.id)
    appended = chain.append(db, district, "result", row.matter_id, row.id, records.result_payload(row._mapping), now)
    return result, appended.seq


def publish(db: Session, district: str, request: c.PublishResultRequest, now: datetime) -> None:
    row = load(db, district, request.consultation_id)
    if row.state != "closed":
        raise Conflict(f"consultation {row.id!r} is {row.state}; only a closed consultation's result is published",
                       {"entity": "consultation", "state": row.state})
    at = request.published_at or now
    if at < row.closed_at:
        raise ValidationFailed.for_field("published_at", "a result cannot be published before the consultation closed")
    if at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed.for_field("published_at", "cannot be in the future")
    db.execute(update(m.consultations).where(m.consultations.c.district == district, m.consultations.c.id == row.id)
               .values(state="published", published_at=at, published_where=request.where))
    row = load(db, district, row.id)
    chain.append(db, district, "publication", row.matter_id, row.id, records.publication_payload(row._mapping), now)
