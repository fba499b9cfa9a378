"""Mediation agreements under the People's Mediation Law, and the parties' say in their case.

- Art. 23: a party may choose or accept a mediator, or object to one (who then leaves the case and is not
  assigned to it again).
- Art. 28: an agreement is written, or oral with its content recorded by the mediator.
- Art. 29: a written agreement states the parties' particulars, the disputed matters and each party's
  responsibility, the content agreed with how and when it is performed; the parties sign, seal or
  fingerprint it, the mediator signs, and the people's mediation committee's seal is affixed.
- Art. 30: a written agreement takes effect when all of them have; an oral one when the parties reach it.
- Art. 33: the parties may jointly apply to a court for judicial confirmation within 30 days from the
  day it takes effect (Beijing dates; the holiday rule of Civil Code Art. 203, see ``timelimits``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from redprop.contracts import mediation as c
from redprop.errors import Conflict, PermissionDenied, ValidationFailed
from redprop.services.mediation import chain, records
from redprop.services.mediation import models as m
from redprop.services.mediation.agreement_tables import (
    agreement_signatures,
    agreements,
    case_referrals,
    court_applications,
    mediator_answers,
)
from redprop.services.mediation.timelimits import TimeLimitPolicy, beijing_date

OPEN_STATES = ("open", "mediating")


# -- who is who on a case ----------------------------------------------------------------------


def party_of(row, actor: str) -> dict | None:
    """The party the actor is, or represents (a household's owner, a company's agent)."""
    for party in row.parties:
        if actor in (party["id"], party.get("representative_id")):
            return party
    return None


def mediators_of(db: Session, district: str, case_id: str) -> set[str]:
    cm = m.case_mediators
    return set(db.execute(select(cm.c.person_id).where(cm.c.district == district, cm.c.case_id == case_id))
               .scalars())


def objected(db: Session, district: str, case_id: str) -> set[str]:
    """Mediators a party objected to (Art. 23): not assigned to this case again."""
    a = mediator_answers
    return set(db.execute(select(a.c.person_id).where(a.c.district == district, a.c.case_id == case_id,
                                                      a.c.answer == "object")).scalars())


def _require_open(row, action: str) -> None:
    if row.state not in OPEN_STATES:
        raise Conflict(f"case {row.id!r} is {row.state}; cannot {action}",
                       {"entity": "case", "id": row.id, "state": row.state})


def _touch(db: Session, district: str, case_id: str, now: datetime, **values) -> None:
    db.execute(update(m.cases).where(m.cases.c.district == district, m.cases.c.id == case_id)
               .values(updated_at=now, **values))


# -- parties (Art. 29 item 1) and mediators (Art. 23) ------------------------------------------


def add_party(db: Session, district: str, row, request: c.AddPartyRequest, now: datetime) -> bool:
    """Add the party, or complete its particulars; True if it is new to the case."""
    _require_open(row, "add a party")
    if _draft_row(db, district, row.id) is not None:
        raise Conflict(f"case {row.id!r} has an agreement awaiting signatures; its parties are fixed",
                       {"entity": "agreement", "id": row.id})
    new = request.party.model_dump(mode="json", exclude_none=True)
    parties = [dict(p) for p in row.parties]
    same = [n for n, p in enumerate(parties) if p["id"] == new["id"]]
    if same:
        if parties[same[0]]["kind"] != new["kind"]:
            raise ValidationFailed.for_field("party.kind", f"{new['id']!r} is on the case as a {parties[same[0]]['kind']}")
        parties[same[0]] = {**parties[same[0]], **new}
    else:
        parties.append(new)
    _touch(db, district, row.id, now, parties=parties)
    chain.append(db, district, "party_added", row.id, f"{row.id}:{new['id']}",
                 {"case_id": row.id, "party": new, "by": request.actor, "new": not same}, now)
    return not same


def answer_mediator(db: Session, district: str, row, request: c.AnswerMediatorRequest, party: dict,
                    chosen: tuple[str, str] | None, now: datetime) -> None:
    """Record a party's answer. ``chosen`` is (kind, role id) of a chosen mediator, from the registry."""
    _require_open(row, "answer about a mediator")
    on_case = mediators_of(db, district, row.id)
    if request.answer in ("accept", "object") and request.person_id not in on_case:
        raise ValidationFailed.for_field("person_id", f"{request.person_id!r} is not a mediator of the case",
                                         "not_a_mediator")
    if request.answer == "choose":
        if request.person_id in objected(db, district, row.id):
            raise Conflict(f"a party objected to {request.person_id!r} on this case", {"field": "person_id"})
        if request.person_id not in on_case:
            kind, role_id = chosen
            cm = m.case_mediators
            load = db.execute(select(func.count()).select_from(cm).join(
                m.cases, (m.cases.c.district == cm.c.district) & (m.cases.c.id == cm.c.case_id))
                .where(cm.c.district == district, cm.c.person_id == request.person_id,
                       m.cases.c.state.in_(OPEN_STATES))).scalar_one()
            db.execute(insert(cm).values(district=district, case_id=row.id, person_id=request.person_id, kind=kind,
                                         role_id=role_id, open_cases=load, assigned_at=now))
            _touch(db, district, row.id, now, state="mediating")
    if request.answer == "object":
        if _draft_row(db, district, row.id) is not None:
            raise Conflict(f"case {row.id!r} has an agreement awaiting signatures; conclude it as failed or "
                           "sign it", {"entity": "agreement", "id": row.id})
        # The mediator leaves the case: mediation is voluntary, a mediator the parties refuse cannot go on.
        db.execute(delete(m.case_mediators).where(m.case_mediators.c.district == district,
                                                  m.case_mediators.c.case_id == row.id,
                                                  m.case_mediators.c.person_id == request.person_id))
        if not mediators_of(db, district, row.id) and row.state == "mediating":
            _touch(db, district, row.id, now, state="open")
    a = mediator_answers
    no = db.execute(select(func.coalesce(func.max(a.c.no), 0)).where(a.c.district == district,
                                                                     a.c.case_id == row.id)).scalar_one() + 1
    db.execute(insert(a).values(district=district, case_id=row.id, no=no, party_id=party["id"],
                                person_id=request.person_id, answer=request.answer, reason=request.reason, at=now))
    chain.append(db, district, "mediator_answer", row.id, f"{row.id}:{no}", {
        "case_id": row.id, "party_id": party["id"], "person_id": request.person_id, "answer": request.answer,
        "reason": request.reason, "by": request.actor, "at": chain.stamp(now)}, now)


# -- the agreement (Art. 28-30) ----------------------------------------------------------------


def check_contents(row, agreement: c.Agreement, mediators: set[str]) -> None:
    """What Art. 29 asks of a written agreement (and any agreement's terms), by field."""
    party_ids = [p["id"] for p in row.parties]
    bad = [{"field": f"outcome.terms.{n}.performer_id", "message": f"{t.performer_id!r} is not a party to the case",
            "type": "not_a_party"} for n, t in enumerate(agreement.terms) if t.performer_id not in party_ids]
    bad += [{"field": f"outcome.responsibilities.{n}.party_id",
             "message": f"{r.party_id!r} is not a party to the case", "type": "not_a_party"}
            for n, r in enumerate(agreement.responsibilities) if r.party_id not in party_ids]
    if agreement.form == "written":
        stated = {r.party_id for r in agreement.responsibilities}
        missing = [p for p in party_ids if p not in stated]
        if missing:
            bad.append({"field": "outcome.responsibilities", "type": "missing",
                        "message": f"Art. 29 item 2: state each party's responsibility; missing: {', '.join(missing)}"})
        for n, party in enumerate(row.parties):
            for particular in ("name", "address"):
                if not party.get(particular):
                    bad.append({"field": f"parties.{n}.{particular}", "type": "missing",
                                "message": f"Art. 29 item 1: the agreement states the parties' particulars; "
                                           f"give {party['id']!r}'s {particular} with add_party"})
    if len(party_ids) < 2:
        bad.append({"field": "parties", "type": "missing",
                    "message": "an agreement is between the parties: the case has one; add the other with add_party"})
    if bad:
        raise ValidationFailed.for_fields(bad)
    if not mediators:
        raise Conflict(f"case {row.id!r} has no mediator: an agreement is reached before a mediator, who records or "
                       "signs it", {"entity": "case", "id": row.id, "field": "case_id"})


def _draft_row(db: Session, district: str, case_id: str):
    """The agreement drafted on an open case and not yet in effect, or None."""
    return db.execute(select(agreements).where(agreements.c.district == district, agreements.c.case_id == case_id,
                                               agreements.c.effective_at.is_(None))).first()


def draft(db: Session, district: str, row, agreement: c.Agreement, at: datetime, now: datetime) -> None:
    """Store the agreement as drafted (a new draft replaces an unsigned one, and its signatures)."""
    content = agreement.model_dump(mode="json")
    db.execute(delete(agreement_signatures).where(agreement_signatures.c.district == district,
                                                  agreement_signatures.c.case_id == row.id))
    db.execute(delete(agreements).where(agreements.c.district == district, agreements.c.case_id == row.id))
    db.execute(insert(agreements).values(district=district, case_id=row.id, form=agreement.form, content=content,
                                         drafted_at=at))
    if row.state == "open":
        _touch(db, district, row.id, now, state="mediating")
    chain.append(db, district, "agreement_drafted", row.id, row.id,
                 {"case_id": row.id, "form": agreement.form, "content": content, "parties": row.parties,
                  "drafted_at": chain.stamp(at)}, now)


def take_effect(db: Session, district: str, case_id: str, at: datetime, policy: TimeLimitPolicy,
                now: datetime) -> None:
    """The agreement is in effect from ``at`` (Art. 30): the case is settled, the Art. 33 window opens."""
    effective_on = beijing_date(at)
    ends_on, confirm_by = policy.confirmation_period(effective_on)
    content = db.execute(select(agreements.c.content).where(agreements.c.district == district,
                                                            agreements.c.case_id == case_id)).scalar_one()
    db.execute(update(agreements).where(agreements.c.district == district, agreements.c.case_id == case_id)
               .values(effective_at=at, effective_on=effective_on, confirm_period_ends_on=ends_on))
    _touch(db, district, case_id, now, state="settled", concluded_at=at, outcome=content, confirm_by=confirm_by)
    stored = db.execute(select(m.cases).where(m.cases.c.district == district, m.cases.c.id == case_id)).one()
    chain.append(db, district, "agreement", case_id, case_id, records.outcome_payload(stored._mapping), now)


def required_signatures(row) -> list[str]:
    return [f"party:{p['id']}" for p in row.parties] + ["mediator", "committee"]


def missing_signatures(row, signatures) -> list[str]:
    have = {f"party:{s.signer_id}" if s.role == "party" else s.role for s in signatures}
    return [need for need in required_signatures(row) if need not in have]


def signatures_of(db: Session, district: str, case_id: str):
    s = agreement_signatures
    return db.execute(select(s).where(s.c.district == district, s.c.case_id == case_id)
                      .order_by(s.c.signed_at, s.c.role, s.c.signer_id)).all()


def sign(db: Session, district: str, row, request: c.SignAgreementRequest, policy: TimeLimitPolicy,
         now: datetime) -> bool:
    """Record a signature; True if it was the last one needed and the agreement took effect."""
    _require_open(row, "sign its agreement")
    drafted = _draft_row(db, district, row.id)
    if drafted is None:
        raise Conflict(f"case {row.id!r} has no written agreement awaiting signatures", {"entity": "agreement"})
    if drafted.form != "written":
        raise Conflict("an oral agreement is not signed; it took effect when reached (Art. 30)",
                       {"entity": "agreement"})
    at = request.signed_at or now
    if at < drafted.drafted_at:
        raise ValidationFailed.for_field("signed_at", "a signature cannot precede the agreement it signs")
    if at > now:
        raise ValidationFailed.for_field("signed_at", "a signature cannot be recorded ahead of time")
    if request.role == "party":
        party = party_of(row, request.actor)
        if request.signer_id is not None:
            party = next((p for p in row.parties if p["id"] == request.signer_id), None)
            if party is None:
                raise ValidationFailed.for_field("signer_id", f"{request.signer_id!r} is not a party to the case",
                                                 "not_a_party")
        if party is None or request.actor not in (party["id"], party.get("representative_id")):
            raise PermissionDenied("a party signs for itself, or its representative for it (Art. 29)",
                                   {"field": "actor"})
        signer = party["id"]
    else:
        signer = request.signer_id or request.actor
        if signer != request.actor:
            raise PermissionDenied("a mediator signs, and affixes the committee's seal, in person",
                                   {"field": "signer_id"})
        if signer not in mediators_of(db, district, row.id):
            raise PermissionDenied(f"{signer!r} is not a mediator of the case", {"field": "actor"})
    s = agreement_signatures
    role = request.role
    if role == "mediator" or role == "committee":
        exists = db.execute(select(s.c.signer_id).where(s.c.district == district, s.c.case_id == row.id,
                                                        s.c.role == role, s.c.signer_id == signer)).first()
    else:
        exists = db.execute(select(s.c.signer_id).where(s.c.district == district, s.c.case_id == row.id,
                                                        s.c.role == "party", s.c.signer_id == signer)).first()
    if exists:
        raise Conflict(f"{signer!r} already signed as {role}", {"entity": "signature", "field": "role"})
    db.execute(insert(s).values(district=district, case_id=row.id, role=role, signer_id=signer,
                                method=request.method, signed_at=at, actor=request.actor))
    chain.append(db, district, "signature", row.id, f"{row.id}:{role}:{signer}", {
        "case_id": row.id, "role": role, "signer_id": signer, "method": request.method,
        "signed_at": chain.stamp(at), "actor": request.actor}, now)
    signatures = signatures_of(db, district, row.id)
    if missing_signatures(row, signatures):
        return False
    # Art. 30: in effect from the day the last of the parties, the mediator and the committee's seal is on it.
    take_effect(db, district, row.id, max(x.signed_at for x in signatures), policy, now)
    return True


# -- referral up a level -----------------------------------------------------------------------


def require_referable(row) -> None:
    _require_open(row, "refer it")
    if row.level == c.CASE_LADDER[-1]:
        raise Conflict(f"case {row.id!r} is already at the district level; conclude it with a referral to a court "
                       "or department", {"entity": "case", "level": row.level})


def refer(db: Session, district: str, row, request: c.ReferCaseRequest, now: datetime) -> str:
    """Move the case one level up to ``request.scope_id``; its mediators leave it. Returns the new level."""
    require_referable(row)
    if _draft_row(db, district, row.id) is not None:
        raise Conflict(f"case {row.id!r} has an agreement awaiting signatures", {"entity": "agreement"})
    to_level = c.CASE_LADDER[c.CASE_LADDER.index(row.level) + 1]
    r = case_referrals
    no = db.execute(select(func.coalesce(func.max(r.c.no), 0)).where(r.c.district == district,
                                                                     r.c.case_id == row.id)).scalar_one() + 1
    db.execute(insert(r).values(district=district, case_id=row.id, no=no, from_level=row.level,
                                from_scope_id=row.scope_id, to_level=to_level, to_scope_id=request.scope_id,
                                reason=request.reason, actor=request.actor, referred_at=now))
    db.execute(delete(m.case_mediators).where(m.case_mediators.c.district == district,
                                              m.case_mediators.c.case_id == row.id))
    _touch(db, district, row.id, now, level=to_level, scope_id=request.scope_id, state="open")
    chain.append(db, district, "case_referred", row.id, f"{row.id}:{no}", {
        "case_id": row.id, "from_level": row.level, "from_scope_id": row.scope_id, "to_level": to_level,
        "to_scope_id": request.scope_id, "reason": request.reason, "by": request.actor,
        "at": chain.stamp(now)}, now)
    return to_level


# -- judicial confirmation (Art. 33) -----------------------------------------------------------


def apply_to_court(db: Session, district: str, row, request: c.CourtApplicationRequest, now: datetime) -> None:
    if row.state != "settled":
        raise Conflict(f"case {row.id!r} is {row.state}; only an agreement in effect is confirmed by a court",
                       {"entity": "case", "state": row.state})
    effective_on, confirm_by = db.execute(select(agreements.c.effective_on, m.cases.c.confirm_by).join(
        m.cases, (m.cases.c.district == agreements.c.district) & (m.cases.c.id == agreements.c.case_id))
        .where(agreements.c.district == district, agreements.c.case_id == row.id)).one()
    if request.applied_on < effective_on:
        raise ValidationFailed.for_field("applied_on", f"the agreement took effect on {effective_on}")
    if request.applied_on > beijing_date(now):
        raise ValidationFailed.for_field("applied_on", "an application cannot be recorded ahead of time")
    if request.applied_on > confirm_by:
        raise ValidationFailed.for_field(
            "applied_on", f"Art. 33: the parties apply within 30 days of the agreement taking effect; the last day "
                          f"was {confirm_by}", "out_of_time")
    party_ids = [p["id"] for p in row.parties]
    if sorted(set(request.applicants)) != sorted(party_ids):
        raise ValidationFailed.for_field(
            "applicants", f"Art. 33: the parties apply jointly; every party applies: {', '.join(party_ids)}",
            "not_joint")
    ca = court_applications
    existing = db.execute(select(ca.c.outcome).where(ca.c.district == district, ca.c.case_id == row.id)).first()
    if existing is not None and existing.outcome in ("pending", "confirmed"):
        raise Conflict(f"case {row.id!r} already has an application ({existing.outcome})",
                       {"entity": "court_application"})
    db.execute(delete(ca).where(ca.c.district == district, ca.c.case_id == row.id))
    db.execute(insert(ca).values(district=district, case_id=row.id, applied_on=request.applied_on,
                                 court=request.court, applicants=sorted(set(request.applicants)), outcome="pending",
                                 recorded_at=now))
    chain.append(db, district, "court_application", row.id, f"{row.id}:{request.applied_on}", {
        "case_id": row.id, "applied_on": request.applied_on.isoformat(), "court": request.court,
        "applicants": sorted(set(request.applicants)), "by": request.actor}, now)


def record_ruling(db: Session, district: str, row, request: c.CourtRulingRequest, now: datetime) -> None:
    ca = court_applications
    application = db.execute(select(ca).where(ca.c.district == district, ca.c.case_id == row.id)).first()
    if application is None or application.outcome != "pending":
        raise Conflict(f"case {row.id!r} has no pending application for judicial confirmation",
                       {"entity": "court_application"})
    if request.decided_on < application.applied_on:
        raise ValidationFailed.for_field("decided_on", f"the application was made on {application.applied_on}")
    if request.decided_on > beijing_date(now):
        raise ValidationFailed.for_field("decided_on", "a ruling cannot be recorded ahead of time")
    db.execute(update(ca).where(ca.c.district == district, ca.c.case_id == row.id).values(
        outcome=request.outcome, decided_on=request.decided_on, ruling_no=request.ruling_no, note=request.note))
    chain.append(db, district, "court_ruling", row.id, f"{row.id}:{request.decided_on}", {
        "case_id": row.id, "outcome": request.outcome, "decided_on": request.decided_on.isoformat(),
        "ruling_no": request.ruling_no, "note": request.note, "by": request.actor}, now)


# -- reading -----------------------------------------------------------------------------------


def agreement_info(db: Session, district: str, row) -> c.AgreementInfo | None:
    a = db.execute(select(agreements).where(agreements.c.district == district,
                                            agreements.c.case_id == row.id)).first()
    if a is None:
        return None
    signatures = signatures_of(db, district, row.id)
    ca = db.execute(select(court_applications).where(court_applications.c.district == district,
                                                     court_applications.c.case_id == row.id)).first()
    return c.AgreementInfo(
        form=a.form, content=a.content, drafted_at=a.drafted_at, effective_at=a.effective_at, effective_on=a.effective_on,
        signatures=[c.Signature(role=s.role, signer_id=s.signer_id, method=s.method, signed_at=s.signed_at,
                                actor=s.actor) for s in signatures],
        missing=[] if a.effective_at is not None or a.form == "oral" else missing_signatures(row, signatures),
        confirm_period_ends_on=a.confirm_period_ends_on,
        confirm_by=row.confirm_by if a.effective_at is not None else None,
        court_application=None if ca is None else c.CourtApplication(
            applied_on=ca.applied_on, court=ca.court, applicants=ca.applicants, outcome=ca.outcome,
            decided_on=ca.decided_on, ruling_no=ca.ruling_no, note=ca.note))


def answers_of(db: Session, district: str, case_id: str) -> list[c.MediatorAnswer]:
    a = mediator_answers
    return [c.MediatorAnswer(party_id=x.party_id, person_id=x.person_id, answer=x.answer, reason=x.reason, at=x.at)
            for x in db.execute(select(a).where(a.c.district == district, a.c.case_id == case_id).order_by(a.c.no))]


def referrals_of(db: Session, district: str, case_id: str) -> list[dict]:
    r = case_referrals
    return [{"level": x.from_level, "scope_id": x.from_scope_id, "to_level": x.to_level,
             "to_scope_id": x.to_scope_id, "reason": x.reason, "by": x.actor,
             "referred_at": x.referred_at.isoformat()}
            for x in db.execute(select(r).where(r.c.district == district, r.c.case_id == case_id).order_by(r.c.no))]
