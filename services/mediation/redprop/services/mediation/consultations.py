"""Owners' consultations (征询): electorate snapshot, ballots with history, tallies decided by a rule."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import case, insert, null, select, update
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.contracts import mediation as c
from redprop.contracts.registry import ElectorateReply
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from redprop.services.mediation import chain, records
from redprop.services.mediation import models as m
from redprop.services.mediation.rules import (
    ART278_ITEMS,
    Tally,
    VotingRule,
    fraction_text,
    statutory_rule,
    weaker_than,
)

CENT = Decimal("0.01")
#: A ballot's cast_at may run ahead of the service's clock by this much (clock skew), no more.
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: Stages at which a matter may still open a consultation.
CONSULTABLE_STAGES = ("research", "symposium", "consultation")


def area(value) -> Decimal:
    return Decimal(value).quantize(CENT)


# -- opening -------------------------------------------------------------------------------------

#: How a tally counts, said in every result.
COUNTED_AS = ("Heads per the SPC interpretation on building differentiated ownership Art. 9 (one exclusive part "
              "one person; co-owners of a part, one owner of several parts, and the developer's unsold or "
              "undelivered parts each one person), one effective ballot per person covering all their parts; "
              "areas per Art. 8 (register, else survey, else sales contract).")


def electorate_digest(voters: Iterable[Mapping]) -> str:
    """SHA-256 over the snapshot, so the log proves which electorate a consultation counted."""
    rows = sorted(([v["household_id"], v["building_id"], v["unit"], str(area(v["area_m2"])), sorted(v["owner_ids"])]
                   # Snapshots since contract 2.0 also prove the voting person and the area's source.
                   + ([v["person_id"], v["area_source"]] if v.get("area_source") is not None else [])
                   for v in voters), key=lambda r: r[0])
    return hashlib.sha256(chain.canonical_json(rows).encode()).hexdigest()


def person_of(voter: Mapping) -> str | None:
    """A voter row's voting person: the registry's (Art. 9), or, for a snapshot taken before the registry
    counted persons, the household itself (the old count), if it has an owner."""
    if voter.get("person_id") is not None:
        return voter["person_id"]
    if voter.get("area_source") is None and voter["owner_ids"]:
        return "household:" + voter["household_id"]
    return None


def choose_rule(item: int, requested: str | None, enabled: list[str], load: Callable[[str], VotingRule]) -> str:
    """The rule a consultation on Art. 278 item ``item`` is decided by: the item's own (para. 2: items 6-8
    need 3/4, the others more than half; participation 2/3 always), or a named one asking no less."""
    statutory = statutory_rule(item)
    if requested is None or requested == statutory:
        return statutory
    if requested not in enabled:
        raise ValidationFailed.for_field("rule", f"rule {requested!r} is not enabled here "
                                                 f"(enabled: {', '.join(enabled)})", "unknown_rule")
    weaker = weaker_than(load(requested), load(statutory))
    if weaker:
        raise ValidationFailed.for_field(
            "rule", f"Civil Code Art. 278 item {item} ({ART278_ITEMS[item]}) is decided by {statutory}; "
                    f"{requested} asks less ({', '.join(weaker)})", "weaker_than_the_law")
    return requested


def scoped_voters(request: c.OpenConsultationRequest, electorate: ElectorateReply) -> list:
    """The complex's parts, or those of the named buildings (each must hold parts of the complex)."""
    if request.building_ids is None:
        return list(electorate.households)
    in_complex = {v.building_id for v in electorate.households}
    for n, bid in enumerate(request.building_ids):
        if bid not in in_complex:
            raise ValidationFailed.for_field(f"building_ids.{n}", f"building {bid!r} has no household of complex "
                                                                  f"{request.complex_id!r}", "not_in_complex")
    wanted = set(request.building_ids)
    return [v for v in electorate.households if v.building_id in wanted]


def open_consultation(db: Session, district: str, request: c.OpenConsultationRequest, electorate: ElectorateReply,
                      rule: str, now: datetime) -> str:
    matter = db.execute(select(m.matters).where(m.matters.c.district == district,
                                                m.matters.c.id == request.matter_id)).first()
    if matter is None:
        raise NotFound.entity("matter", request.matter_id, "matter_id")
    if matter.stage not in CONSULTABLE_STAGES:
        raise Conflict(f"matter {matter.id!r} is at {matter.stage}; a consultation comes before the decision",
                       {"entity": "matter", "stage": matter.stage})
    if matter.complex_id is not None and matter.complex_id != request.complex_id:
        raise ValidationFailed.for_field("complex_id", f"the matter is of complex {matter.complex_id!r}", "mismatch")
    # Honest windows: a consultation opens no earlier than it is created. A window (partly) in the past would
    # count paper ballots "collected" before anyone was asked, and an owner could not have taken part in it.
    opens_at = request.opens_at or now
    if opens_at < now - MAX_CLOCK_SKEW:
        raise ValidationFailed.for_field("opens_at", "a consultation cannot open before it is created "
                                                     "(no back-dated windows)", "in_the_past")
    if request.closes_at <= opens_at:
        raise ValidationFailed.for_field("closes_at", "must be after opens_at", "before_opening")
    if electorate.district != district:
        raise Conflict("the registry answered for another district", {"district": electorate.district})
    households = scoped_voters(request, electorate)
    consultation_id = new_id()
    snapshot = [{"district": district, "consultation_id": consultation_id, "household_id": v.household_id,
                 "building_id": v.building_id, "unit": v.unit, "area_m2": area(v.area_m2),
                 "owner_ids": list(v.owner_ids), "area_source": v.area_source,
                 # An old registry (contract 1.1) names no persons: each household with an owner is one.
                 "person_id": v.person_id if v.person_id is not None
                 else (v.household_id if v.owner_ids else None)} for v in households]
    persons = {s["person_id"] for s in snapshot if s["person_id"] is not None}
    scope_field = "building_ids" if request.building_ids is not None else "complex_id"
    if not persons:
        raise ValidationFailed.for_field(scope_field, "the registry lists no household with an owner there", "empty")
    total_area = sum((s["area_m2"] for s in snapshot), Decimal("0.00"))
    total_owners = len(persons)
    digest = electorate_digest(snapshot)
    options = [o.model_dump(mode="json") for o in request.options]
    db.execute(insert(m.consultations).values(
        district=district, id=consultation_id, matter_id=request.matter_id, complex_id=request.complex_id,
        art278_item=request.art278_item, question=request.question,
        options=options, approve_option=request.approve_option, rule=rule, opens_at=opens_at,
        closes_at=request.closes_at, state="open", electorate_households=len(snapshot), total_area_m2=total_area,
        total_owners=total_owners, electorate_digest=digest, ballot_count=0))
    db.execute(insert(m.voters), snapshot)
    row = load(db, district, consultation_id)
    chain.append(db, district, "consultation_opened", request.matter_id, consultation_id,
                 records.opened_payload_from_row(row._mapping), now)
    return consultation_id


def load(db: Session, district: str, consultation_id: str, field: str = "consultation_id"):
    row = db.execute(select(m.consultations).where(m.consultations.c.district == district,
                                                   m.consultations.c.id == consultation_id)).first()
    if row is None:
        raise NotFound.entity("consultation", consultation_id, field)
    return row


def info(db: Session, district: str, row, publish_within: timedelta) -> c.ConsultationInfo:
    return c.ConsultationInfo(
        district=row.district, id=row.id, matter_id=row.matter_id, complex_id=row.complex_id,
        art278_item=row.art278_item, question=row.question, options=row.options,
        approve_option=row.approve_option, rule=row.rule, opens_at=row.opens_at, closes_at=row.closes_at,
        state=row.state, electorate_households=row.electorate_households, total_area_m2=area(row.total_area_m2),
        total_owners=row.total_owners, electorate_digest=row.electorate_digest, closed_at=row.closed_at,
        publish_by=row.closed_at + publish_within if row.closed_at else None, published_at=row.published_at,
        result=row.result)


# -- ballots -------------------------------------------------------------------------------------


def _check_who(request: c.CastBallotRequest) -> None:
    """Record-level rules of who casts what: an owner casts their own ballot online; a paper or meeting ballot
    is entered by the worker who collected it, in front of a witness who is neither that worker nor the owner."""
    if request.channel == "online":
        if request.actor != request.owner_id:
            raise PermissionDenied("an online ballot is cast by the owner themself",
                                   {"field": "actor", "actor": request.actor, "owner_id": request.owner_id})
        if request.witness_id is not None:
            raise ValidationFailed.for_field("witness_id", "only a paper or meeting ballot has a witness", "unexpected")
        return
    if request.actor != request.entered_by:
        raise PermissionDenied("a paper ballot is entered by the worker who collected it (entered_by)",
                               {"field": "entered_by", "actor": request.actor, "entered_by": request.entered_by})
    if request.witness_id is None:
        raise ValidationFailed.for_field("witness_id", f"a {request.channel} ballot is entered with a witness",
                                         "missing")
    if request.witness_id in (request.entered_by, request.owner_id):
        raise ValidationFailed.for_field("witness_id", "the witness is neither the worker nor the owner", "not_independent")


def cast_ballot(db: Session, district: str, request: c.CastBallotRequest, now: datetime) -> tuple[dict, str | None]:
    """Store and log a ballot; returns (ballot row values, id of the ballot it supersedes)."""
    _check_who(request)
    row = load(db, district, request.consultation_id)
    if row.state != "open":
        raise Conflict(f"consultation {row.id!r} is {row.state}; no more ballots",
                       {"entity": "consultation", "state": row.state, "field": "consultation_id"})
    if request.cast_at is not None and request.cast_at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed.for_field("cast_at", "a ballot cannot be cast in the future")
    if request.channel == "online":
        # An online ballot is cast when it arrives: it cannot be back-dated into a window that has passed.
        if request.cast_at is not None and request.cast_at < now - MAX_CLOCK_SKEW:
            raise ValidationFailed.for_field("cast_at", "an online ballot is cast when it arrives; it cannot be "
                                                        "back-dated", "back_dated")
        cast_at = now
    else:
        # A paper ballot counts when it was collected (entered later by staff), so that date must lie in the
        # window: not before the consultation opened (which is never before it was created).
        cast_at = request.cast_at or now
    if cast_at < row.opens_at:
        raise Conflict(f"consultation {row.id!r} opens at {row.opens_at.isoformat()}",
                       {"entity": "consultation", "opens_at": row.opens_at.isoformat(), "field": "cast_at"})
    if cast_at > row.closes_at:
        raise Conflict(f"consultation {row.id!r} closed at {row.closes_at.isoformat()}; the ballot is late",
                       {"entity": "consultation", "closes_at": row.closes_at.isoformat(), "field": "cast_at"})
    if request.option not in {o["id"] for o in row.options}:
        raise ValidationFailed.for_field("option", f"not an option of this consultation "
                                                   f"({', '.join(o['id'] for o in row.options)})", "unknown_option")
    v = m.voters
    voter = db.execute(select(v).where(
        v.c.district == district, v.c.consultation_id == row.id, v.c.household_id == request.household_id)).first()
    if voter is None:
        raise PermissionDenied(f"household {request.household_id!r} is not in this consultation's electorate",
                               {"field": "household_id", "household_id": request.household_id})
    if voter.person_id is not None:
        # Art. 9: the ballot is the voting person's; any owner of any of their parts may cast it.
        owners = {o for (ids,) in db.execute(select(v.c.owner_ids).where(
            v.c.district == district, v.c.consultation_id == row.id, v.c.person_id == voter.person_id)) for o in ids}
    else:
        owners = set(voter.owner_ids)
    if request.owner_id not in owners:
        raise PermissionDenied(f"{request.owner_id!r} is not an owner of household {request.household_id!r}"
                               + (" or of another part of the same voting person" if voter.person_id else ""),
                               {"field": "owner_id", "owner_id": request.owner_id, "household_id": request.household_id})
    # Bumping the counter takes the consultation's row lock: ballots of one consultation queue here.
    seq = db.execute(update(m.consultations).where(m.consultations.c.district == district,
                                                   m.consultations.c.id == row.id)
                     .values(ballot_count=m.consultations.c.ballot_count + 1)
                     .returning(m.consultations.c.ballot_count)).scalar_one()
    b = m.ballots
    same_person = (b.c.person_id == voter.person_id) if voter.person_id is not None \
        else (b.c.household_id == request.household_id)
    previous = db.execute(select(b.c.id).where(
        b.c.district == district, b.c.consultation_id == row.id, same_person, b.c.superseded_by.is_(None))).scalar()
    values = {"id": new_id(), "consultation_id": row.id, "seq": seq, "household_id": request.household_id,
              "person_id": voter.person_id, "owner_id": request.owner_id, "option": request.option,
              "channel": request.channel, "entered_by": request.entered_by, "witness_id": request.witness_id,
              "cast_at": cast_at}
    appended = chain.append(db, district, "ballot", row.matter_id, values["id"], records.ballot_payload(values), now)
    values["record_seq"] = appended.seq
    db.execute(insert(b).values(district=district, **values))
    if previous is not None:
        db.execute(update(b).where(b.c.district == district, b.c.id == previous).values(superseded_by=values["id"]))
    return values, previous


def ballot_info(row: Mapping) -> c.BallotInfo:
    return c.BallotInfo(**{k: row[k] for k in c.BallotInfo.model_fields if k in row})


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
    by_channel: dict[str, int] = field(default_factory=dict)
    #: Area and persons of those who have not voted (for deciding whether an early close is honest).
    remaining_area: Decimal = Decimal("0.00")
    remaining_persons: int = 0

    @property
    def paper(self) -> int:
        return sum(n for ch, n in self.by_channel.items() if ch != "online")


def count(voters: Iterable[tuple[str, Decimal, str | None]], effective: Mapping[str, tuple[str, str]],
          approve_option: str, option_ids: Iterable[str]) -> Count:
    """Count effective ballots. ``voters``: (household, area, voting person or None); ``effective``: person ->
    (option, channel). Interpretation Art. 9: a person is one head however many parts they have; Art. 8:
    their area is the sum of their parts. Pure and exact, so the benchmark measures exactly this."""
    total_area = Decimal("0.00")
    person_area: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    person_parts: Counter = Counter()
    for _household, household_area, person in voters:
        total_area += household_area
        if person is not None:
            person_area[person] += household_area
            person_parts[person] += 1
    part_area, approve_area = Decimal("0.00"), Decimal("0.00")
    part_owners = approve_owners = 0
    remaining_area, remaining = Decimal("0.00"), 0
    per_option_area: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    per_option_persons: Counter = Counter()
    per_option_parts: Counter = Counter()
    by_channel: Counter = Counter()
    for person, a in person_area.items():
        ballot = effective.get(person)
        if ballot is None:
            remaining_area += a
            remaining += 1
            continue
        option, channel = ballot
        part_area += a
        part_owners += 1
        per_option_area[option] += a
        per_option_persons[option] += 1
        per_option_parts[option] += person_parts[person]
        by_channel[channel] += 1
        if option == approve_option:
            approve_area += a
            approve_owners += 1
    options = {o: {"persons": str(per_option_persons[o]), "households": str(per_option_parts[o]),
                   "area_m2": str(per_option_area[o])} for o in option_ids}
    return Count(Tally(total_area, len(person_area), part_area, part_owners, approve_area, approve_owners),
                 options, dict(by_channel), remaining_area, remaining)


def decided(rule: VotingRule, counted: Count) -> bool | None:
    """Whether the outcome is already certain whichever way those who have not voted vote: True (it passes
    even if they all vote against), False (it fails even if they all approve), None (they could still change it).

    Every check of a rule is monotone: more ballots never lower participation, an approving ballot never lowers
    approval, a disapproving one never raises it. So the extremes are "all the rest approve" and "all the rest
    take part and disapprove" (and "none of them votes", the current count)."""
    t = counted.tally
    all_approve = replace(t, participating_area=t.participating_area + counted.remaining_area,
                          participating_owners=t.participating_owners + counted.remaining_persons,
                          approving_area=t.approving_area + counted.remaining_area,
                          approving_owners=t.approving_owners + counted.remaining_persons)
    if not rule.decide(all_approve).passed:
        return False
    all_against = replace(t, participating_area=t.participating_area + counted.remaining_area,
                          participating_owners=t.participating_owners + counted.remaining_persons)
    if rule.decide(t).passed and rule.decide(all_against).passed:
        return True
    return None


def _ratio_info(part, whole, value: Fraction) -> c.RatioInfo:
    percent = (Decimal(value.numerator * 100) / Decimal(value.denominator)).quantize(CENT, ROUND_HALF_UP)
    return c.RatioInfo(part=str(part), whole=str(whole), ratio=fraction_text(value), percent=percent)


def counted(db: Session, district: str, row) -> tuple[Count, int, dict[str, Decimal]]:
    """The count of a consultation's effective ballots, superseded ballots, and the area per source."""
    v, b = m.voters, m.ballots
    # The owners matter only for a voter of an old snapshot (no person, no area source; see person_of):
    # only those rows bring their JSON list, the others a NULL (decoding 10,000 lists was a fifth of a tally).
    old_snapshot = v.c.person_id.is_(None) & v.c.area_source.is_(None)
    voters, by_source = [], defaultdict(lambda: Decimal("0.00"))
    for household, area_m2, owner_ids, person, source in db.execute(
            select(v.c.household_id, v.c.area_m2, case((old_snapshot, v.c.owner_ids), else_=null()), v.c.person_id,
                   v.c.area_source)
            .where(v.c.district == district, v.c.consultation_id == row.id)):
        part = area(area_m2)
        if person is None:  # the rule of an old snapshot's voter (rare): person_of's, on the row
            person = person_of({"household_id": household, "person_id": None, "area_source": source,
                                "owner_ids": owner_ids or []})
        voters.append((household, part, person))
        by_source[source or "register"] += part
    # A ballot is its voting person's; one cast before persons were counted is its household's.
    effective = {(p if p is not None else "household:" + h): (o, ch) for h, p, o, ch in db.execute(
        select(b.c.household_id, b.c.person_id, b.c.option, b.c.channel)
        .where(b.c.district == district, b.c.consultation_id == row.id, b.c.superseded_by.is_(None)))}
    superseded = row.ballot_count - len(effective)
    return count(voters, effective, row.approve_option, [o["id"] for o in row.options]), superseded, dict(by_source)


def tally(db: Session, district: str, row, rule: VotingRule, closed_early: bool = False) -> c.ConsultationResult:
    result, _ = _tally(db, district, row, rule, closed_early)
    return result


def _tally(db: Session, district: str, row, rule: VotingRule,
           closed_early: bool = False) -> tuple[c.ConsultationResult, Count]:
    count_, superseded, by_source = counted(db, district, row)
    t = count_.tally
    decision = rule.decide(t)
    return c.ConsultationResult(
        art278_item=row.art278_item, rule=rule.name, rule_description=rule.description, passed=decision.passed,
        decided_by=decision.decided_by, explanation=decision.explanation(),
        total_area_m2=t.total_area, total_owners=t.total_owners, participating_area_m2=t.participating_area,
        participating_owners=t.participating_owners, approving_area_m2=t.approving_area,
        approving_owners=t.approving_owners,
        participation_by_area=_ratio_info(t.participating_area, t.total_area, t.participation_by_area),
        participation_by_headcount=_ratio_info(t.participating_owners, t.total_owners, t.participation_by_headcount),
        approval_by_area=_ratio_info(t.approving_area, t.participating_area, t.approval_by_area),
        approval_by_headcount=_ratio_info(t.approving_owners, t.participating_owners, t.approval_by_headcount),
        checks=[c.RuleCheck(name=k.name, value=fraction_text(k.value), threshold=fraction_text(k.threshold),
                            comparison=k.comparison, passed=k.passed) for k in decision.checks],
        options=count_.options, paper_ballots=count_.paper, superseded_ballots=superseded,
        ballots_by_channel=count_.by_channel, counted_as=COUNTED_AS, area_by_source=by_source,
        closed_early=closed_early,
    ), count_


# -- closing and publishing ----------------------------------------------------------------------


def _check_complex(row, complex_id: str) -> None:
    # The permit names the complex; it must be this consultation's, or a worker of another complex could act.
    if row.complex_id is not None and row.complex_id != complex_id:
        raise ValidationFailed.for_field("complex_id", f"consultation {row.id!r} is of complex {row.complex_id!r}",
                                         "mismatch")


def close(db: Session, district: str, request: c.CloseConsultationRequest, rule: VotingRule,
          now: datetime) -> tuple[c.ConsultationResult, int]:
    row = load(db, district, request.consultation_id)
    _check_complex(row, request.complex_id)
    if row.state != "open":
        raise Conflict(f"consultation {row.id!r} is already {row.state}", {"entity": "consultation", "state": row.state})
    at = request.at or now
    if at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed.for_field("at", "a consultation cannot be closed in the future")
    if at < now - MAX_CLOCK_SKEW:
        raise ValidationFailed.for_field("at", "a closing is recorded when it happens; it cannot be back-dated",
                                         "back_dated")
    # Lock the row (and any ballot racing in) before counting.
    db.execute(update(m.consultations).where(m.consultations.c.district == district, m.consultations.c.id == row.id)
               .values(state="closed", closed_at=at))
    row = load(db, district, row.id)
    early = at < row.closes_at
    result, count_ = _tally(db, district, row, rule, closed_early=early)
    if early and decided(rule, count_) is None:
        # The window is the owners' time to take part: closing it early is honest only once no owner who has
        # not yet voted could change the outcome, whichever way they voted. Until then it runs to its end.
        raise Conflict(f"consultation {row.id!r} runs until {row.closes_at.isoformat()} and its outcome is not yet "
                       f"decided ({count_.remaining_persons} persons have not voted)",
                       {"entity": "consultation", "closes_at": row.closes_at.isoformat(), "field": "at"})
    db.execute(update(m.consultations).where(m.consultations.c.district == district, m.consultations.c.id == row.id)
               .values(result=result.model_dump(mode="json")))
    row = load(db, district, row.id)
    appended = chain.append(db, district, "result", row.matter_id, row.id, records.result_payload(row._mapping), now)
    return result, appended.seq


def publish(db: Session, district: str, request: c.PublishResultRequest, now: datetime) -> None:
    row = load(db, district, request.consultation_id)
    _check_complex(row, request.complex_id)
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
