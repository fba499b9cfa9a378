"""Demo step: the parking-fee story. 100 households of 嘉和景苑 are consulted on changing "free temporary
parking 2 h" to "free 30 min"; the Art. 278 rule decides; months later the record is retrieved and verified."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from redprop.errors import RedpropError

COMPLEX = "ZQ-JHJY"
#: The Zhuanqiao community worker who keeps the matter and the consultation (a registry official).
ACTOR = "CW-ZQ"
BUILDINGS = [f"{COMPLEX}-B{n:02d}" for n in range(1, 5)]  # 4 buildings x 25 households = 100
WINDOW_SECONDS = 15  # each ballot checks its voter against the registry: room for a loaded laptop
#: The community worker who runs the consultation and enters paper ballots, and the witness beside them.
STAFF, WITNESS = "CW-ZQ", "SD-DJ"


def _rid() -> str:
    return uuid.uuid4().hex


def _choice(n: int) -> str:
    """A fixed, plausible turnout: 84 of 100 answer, most agree."""
    if n % 25 in (3, 11, 19, 24) and n % 2:
        return "none"
    if n in (7, 31, 52, 77, 90):
        return "disagree"
    if n in (14, 66):
        return "abstain"
    return "agree" if n < 96 else "none"


def parking_fee_consultation(ctx) -> None:
    rpc = ctx.rpc
    ctx.section("Mediation: the parking-fee consultation (四方议事 + 征询, Civil Code Art. 278)")
    matter = rpc.mediation.open_matter(actor=ACTOR,
        title="嘉和景苑临时停车收费调整 parking: free 2 h -> free 30 min", topic="parking", complex_id=COMPLEX,
        parties=["party_branch", "property_company", "self_management_committee", "building_leaders"],
        links=[{"kind": "ticket", "id": "DEMO-PARKING-COMPLAINTS"}], request_id=_rid()).matter
    ctx.say(f"Matter {matter.id[:8]}… opened at stage '{matter.stage}' with {', '.join(matter.parties)}.")
    rpc.mediation.advance_matter(actor=ACTOR, matter_id=matter.id, to_stage="symposium", request_id=_rid())
    rpc.mediation.record_meeting(actor=ACTOR,
        matter_id=matter.id, kind="symposium", held_at=datetime.now(UTC),
        agenda=[{"title": "外来车辆长时间占用车位 outside cars occupy spaces for hours"},
                {"title": "44个车位业主优先 44 spaces, owners first"}],
        organisations=[{"party": "party_branch", "organisation_id": "ZQ-PARTY"},
                       {"party": "property_company", "organisation_id": "ZQ-PROP"},
                       {"party": "self_management_committee", "organisation_id": "ZQ-JHJY-SMC"},
                       {"party": "building_leaders"}],
        minutes="座谈同意征询业主: 临时停车免费时长由2小时改为30分钟 agreed to consult owners",
        request_id=_rid())
    rpc.mediation.advance_matter(actor=ACTOR, matter_id=matter.id, to_stage="consultation", request_id=_rid())
    ctx.say("research -> symposium (minutes recorded) -> consultation")

    started = time.monotonic()
    now = datetime.now(UTC)
    # Charging outside cars for the complex's roads is running a business on common parts: Civil Code
    # Art. 278 item 8, so the rule is art278_major (3/4 of the participating area and owners).
    consultation = rpc.mediation.open_consultation(
        actor=STAFF, matter_id=matter.id, art278_item=8, question="临时停车免费时长由2小时改为30分钟? Free temporary parking 2 h -> 30 min?",
        options=[{"id": "agree", "label": "同意 agree"}, {"id": "disagree", "label": "不同意 disagree"},
                 {"id": "abstain", "label": "弃权 abstain"}],
        approve_option="agree", closes_at=now + timedelta(seconds=WINDOW_SECONDS), complex_id=COMPLEX,
        building_ids=BUILDINGS, request_id=_rid()).consultation
    ctx.say(f"\nConsultation over {consultation.electorate_households} households of buildings 1-4 "
            f"({consultation.total_area_m2} m², {consultation.total_owners} owners), snapshot from registry.electorate; "
            f"Art. 278 item {consultation.art278_item}, so rule {consultation.rule}.")
    voters = rpc.registry.electorate(building_ids=BUILDINGS).households
    pending = []
    for n, voter in enumerate(voters):
        option = _choice(n)
        if option == "none":
            continue
        fields = {"consultation_id": consultation.id, "household_id": voter.household_id, "actor": voter.owner_ids[-1],
                  "owner_id": voter.owner_ids[-1], "option": option, "request_id": _rid()}
        if n % 8 == 0:  # elderly owners answer on paper; staff enter it, in front of a witness
            fields.update(channel="paper", actor=STAFF, entered_by=STAFF, witness_id=WITNESS,
                          cast_at=datetime.now(UTC).isoformat())
        pending.append(rpc.call_async("mediation", "cast_ballot", fields))
    # Two households change their minds: the later ballot supersedes, the history stays.
    for voter in (voters[7], voters[52]):
        pending.append(rpc.call_async("mediation", "cast_ballot", {
            "consultation_id": consultation.id, "household_id": voter.household_id, "actor": voter.owner_ids[0],
            "owner_id": voter.owner_ids[0], "option": "agree", "request_id": _rid()}))
    for call in pending:
        call.result()
    ctx.say(f"{len(pending)} ballots cast in {time.monotonic() - started:.1f} s "
            f"({sum(1 for n in range(len(voters)) if _choice(n) != 'none' and n % 8 == 0)} from paper).")
    try:
        rpc.mediation.cast_ballot(actor="NOT-AN-OWNER", consultation_id=consultation.id,
                                  household_id=voters[0].household_id, owner_id="NOT-AN-OWNER", option="agree",
                                  request_id=_rid())
    except RedpropError as exc:
        ctx.say(f"A ballot from someone who is not an owner: {exc.code}: {exc.message}")

    time.sleep(max(0.0, (consultation.closes_at - datetime.now(UTC)).total_seconds() + 0.1))
    closed = rpc.mediation.close_consultation(actor=STAFF, consultation_id=consultation.id, complex_id=COMPLEX,
                                              request_id=_rid()).consultation
    r = closed.result
    ctx.say(f"\nClosed. Result under {r.rule}: {'PASSED' if r.passed else 'FAILED'} (decided by: {r.decided_by})")
    ctx.table(["", "part", "whole", "exact", "%", "needed"], [
        ["participation by area (m²)", r.participation_by_area.part, r.participation_by_area.whole,
         r.participation_by_area.ratio, r.participation_by_area.percent, ">= 2/3"],
        ["participation by owners", r.participation_by_headcount.part, r.participation_by_headcount.whole,
         r.participation_by_headcount.ratio, r.participation_by_headcount.percent, ">= 2/3"],
        ["approval by area (m²)", r.approval_by_area.part, r.approval_by_area.whole, r.approval_by_area.ratio,
         r.approval_by_area.percent, ">= 3/4"],
        ["approval by owners", r.approval_by_headcount.part, r.approval_by_headcount.whole,
         r.approval_by_headcount.ratio, r.approval_by_headcount.percent, ">= 3/4"],
    ])
    ctx.say("  options: " + ", ".join(f"{k} {v['persons']}" for k, v in r.options.items())
            + f"; paper ballots {r.paper_ballots}; superseded {r.superseded_ballots}")
    ctx.say(f"  publish by {closed.publish_by:%Y-%m-%d %H:%M} UTC (3 days)")

    rpc.mediation.advance_matter(actor=ACTOR, matter_id=matter.id, to_stage="decision", request_id=_rid())
    rpc.mediation.advance_matter(actor=ACTOR, matter_id=matter.id, to_stage="publication", request_id=_rid())
    rpc.mediation.publish_result(actor=STAFF, consultation_id=consultation.id, complex_id=COMPLEX, where="嘉和景苑公告栏 + 小区群 notice board and chat group",
                                 request_id=_rid())
    rpc.mediation.advance_matter(actor=ACTOR, matter_id=matter.id, to_stage="implementation", request_id=_rid())
    rpc.mediation.record_progress(actor=ACTOR, matter_id=matter.id, percent=100, note="新收费规则上墙, 道闸已调整 signs and barrier updated",
                                  request_id=_rid())
    ctx.say("decision -> publication (posted) -> implementation 100%")

    ctx.say("\nMonths later a resident questions the fee. Staff look the decision up by matter:")
    found = rpc.mediation.find_matters(title_contains="parking").items[0]
    records = rpc.mediation.records(matter_id=found.id, limit=5000)
    kinds: dict[str, int] = {}
    for rec in records.items:
        kinds[rec.kind] = kinds.get(rec.kind, 0) + 1
    ctx.say(f"  {records.total} records behind '{found.title}': "
            + ", ".join(f"{k} {n}" for k, n in kinds.items()))
    asked = voters[7].household_id
    history = rpc.mediation.ballots(consultation_id=consultation.id, household_id=asked).items
    ctx.say(f"  household {asked}: " + " then ".join(f"{b.option} ({b.channel}, record {b.record_seq})" for b in history))
    verdict = rpc.mediation.verify(matter_id=found.id)
    ctx.say(f"  verify: {'OK' if verdict.ok else 'FAILED'}: {verdict.checked} chained records recomputed, "
            f"{verdict.cross_checked} stored rows matched their records; head {verdict.head_hash[:16]}…")
    ctx.hint(f"mediation.records '{{\"matter_id\": \"{found.id}\", \"kind\": \"result\"}}'")
    ctx.hint(f"mediation.verify '{{\"matter_id\": \"{found.id}\"}}'")


parking_fee_consultation.order = 30
parking_fee_consultation.services = ("registry", "mediation")
