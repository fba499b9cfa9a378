"""Demo step: the Zhuanqiao greening day (volunteers' and party members' turns, micro-points earned), a party
member's pledge board, the telecom branch reporting and taking a task, and a resident spending points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redprop.errors import RedpropError
from redprop.services.participation.periods import this_year


def _person_with(rpc, role: str, organisation_id: str | None = None, scope_id: str | None = None) -> str:
    return next(r.person_id for r in rpc.registry.list(kind="role", role=role, limit=5000).items
                if (organisation_id is None or r.organisation_id == organisation_id)
                and (scope_id is None or r.scope_id == scope_id))


def _owners(rpc, complex_id: str, n: int) -> list[str]:
    owners: list[str] = []
    for h in rpc.registry.list(kind="household", within=complex_id, limit=50).items:
        owners += [o for o in h.owner_ids if o not in owners]
    return owners[:n]


def greening_day(ctx) -> None:
    rpc, p = ctx.rpc, ctx.rpc.participation
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    key = start.strftime("%Y%m%d%H")  # the same requests when the demo runs again within the hour
    year = this_year(now)
    ctx.section("Participation: the Zhuanqiao greening day, micro-points, pledges and reporting units (报到)")

    secretary = _person_with(rpc, "party_secretary", "ZQ-PARTY")
    party_members = [_person_with(rpc, "red_property_specialist", "ZQ-PARTY", f"ZQ-G{n}") for n in (1, 2)]
    volunteers = _owners(rpc, "ZQ-JHJY", 4)
    # The telecom branch and one of its in-service party members report to Zhuanqiao (registry records,
    # written by the district's data officer).
    officers = rpc.registry.list(kind="role", role="data_officer", limit=1).items
    if not officers:
        ctx.say("(no data officer in the registry: the telecom branch's report is not recorded)")
    reporting = bool(officers)
    if reporting:
        rpc.registry.upsert(actor=officers[0].person_id, request_id=f"demo-part-reports-{key}", records=[
            {"kind": "person", "id": "ZQ-TEL-P1", "name": "电信党员小许", "party_member": True},
            {"kind": "report", "id": "RPT-ZQ-TELECOM", "reporter_id": "ZQ-TELECOM", "community_id": "ZQ",
             "reported_on": "2026-03-01"},
            {"kind": "report", "id": "RPT-ZQ-TEL-P1", "reporter_id": "ZQ-TEL-P1", "community_id": "ZQ",
             "reported_on": "2026-03-01", "employer_id": "ZQ-TELECOM"}])

    day = p.create_activity(request_id=f"demo-part-activity-{key}", actor=secretary, kind="greening",
                            title="砖桥绿化日：种花、彩绘轮胎 greening day", community_id="ZQ", complex_id="ZQ-JHJY",
                            starts_at=start.isoformat(), ends_at=(start + timedelta(hours=4)).isoformat()).activity
    rows = []
    for n, person in enumerate(volunteers + party_members):
        role = "party_member" if person in party_members else "volunteer"
        hours = 3 if role == "party_member" else 2 + (n % 2) * 0.5
        p.sign_up(request_id=f"demo-part-signup-{key}-{n}", actor=person, activity_id=day.id)
        p.check_in(request_id=f"demo-part-checkin-{key}-{n}", actor=secretary, activity_id=day.id, person_id=person)
        reply = p.record_turn(request_id=f"demo-part-turn-{key}-{n}", actor=secretary, activity_id=day.id,
                              person_id=person, hours=hours, role=role)
        rows.append([person, role, reply.turn.hours, reply.points])
    ctx.say(f"Activity {day.title} in 嘉和景苑, organised by the party secretary {secretary}:")
    ctx.table(["person", "role", "hours", "points earned"], rows)
    try:
        p.create_activity(request_id=f"demo-part-resident-{key}", actor=volunteers[0], kind="culture",
                          title="业主自办活动", community_id="ZQ", starts_at=start.isoformat(),
                          ends_at=(start + timedelta(hours=1)).isoformat())
    except RedpropError as exc:
        ctx.say(f"  a resident tries to organise one: {exc.code}: {exc.message}")
    totals = p.totals(scope="community", id="ZQ", period=str(year), role="volunteer")
    ctx.say(f"  volunteer turns in Zhuanqiao this year (Beijing time): {totals.turns} turns, {totals.hours:g} hours, "
            f"{totals.people} people")

    member = party_members[0]
    p.pledge(request_id=f"demo-part-pledge-{key}", actor=member, community_id="ZQ", complex_id="ZQ-JHJY",
             pledge="亮身份、亮承诺：每周巡楼，邻里有事找我", responsibilities=["楼道安全巡查", "独居老人探访"])
    try:
        p.pledge(request_id=f"demo-part-pledge-x-{key}", actor=volunteers[0], community_id="ZQ", pledge="我也承诺")
    except RedpropError as exc:
        ctx.say(f"\nA resident who is not a party member tries to pledge: {exc.code}: {exc.message}")
    try:
        p.designate_post(request_id=f"demo-part-post-{year}", actor=secretary, community_id="ZQ", person_id=member,
                         post="vanguard", year=year, criteria="全年服务超过50小时，群众满意 (三岗联创: 先锋岗)")
    except RedpropError:
        pass  # designated by an earlier run this year

    if reporting:
        task = p.assign_task(request_id=f"demo-part-task-{key}", actor=secretary, community_id="ZQ",
                             assignee_id="ZQ-TELECOM", assignee_kind="unit", title="楼道飞线、光纤整理",
                             source="community").task
        p.complete_task(request_id=f"demo-part-done-{key}", actor="ZQ-TEL-P1", task_id=task.id, people=["ZQ-TEL-P1"],
                        hours=2, note="3栋楼道光纤已理顺")
        ctx.say(f"The telecom branch reported to Zhuanqiao and did '{task.title}' (2 hours, a unit_staff turn).")

    bag = p.add_reward(request_id=f"demo-part-reward-{key}", actor=secretary, community_id="ZQ", name="环保购物袋",
                       cost=10, stock=100).reward
    spent = p.redeem(request_id=f"demo-part-redeem-{key}", actor=volunteers[0], reward_id=bag.id, quantity=2)
    ctx.say(f"\n{volunteers[0]} spends {spent.points} micro-points on 2 x {bag.name}; balance left {spent.balance}.")
    try:
        p.redeem(request_id=f"demo-part-overdraft-{key}", actor=volunteers[0], reward_id=bag.id, quantity=10)
    except RedpropError as exc:
        ctx.say(f"  ten more would overdraw: {exc.code}: {exc.message}")
    balance = p.balance(person_id=volunteers[0])
    ctx.table(["entry", "points", "why"], [[e.kind, e.amount, e.reason] for e in balance.entries[:6]])

    board = p.board(community_id="ZQ")
    ctx.say(f"\nThe public board of {board.community_name} ({board.year}; names, posts and pledges, no phone numbers):")
    ctx.table(["party member", "posts", "pledge", "turns", "hours"],
              [[m.name, ", ".join(m.posts) or "-", (m.pledges or ["-"])[-1][:30], m.turns, m.hours]
               for m in board.members])
    ctx.table(["reported", "kind", "on", "tasks done", "hours"],
              [[u.name[:30], u.kind, u.reported_on, u.tasks_done, u.hours] for u in board.units
               if u.tasks_done or u.id == "ZQ-TELECOM"])
    ctx.hint("participation.board '{\"community_id\": \"ZQ\"}'")
    ctx.hint(f"participation.totals '{{\"scope\": \"community\", \"id\": \"ZQ\", \"period\": \"{year}\"}}'")
    ctx.hint(f"participation.balance '{{\"person_id\": \"{volunteers[0]}\"}}'")


greening_day.order = 55
greening_day.services = ("registry", "participation")


def _points_for(p, person: str, reason: str, timeout: float = 20.0) -> int:
    """Wait for an event-driven award to land (the services talk by events), then its points."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        got = sum(e.amount for e in p.balance(person_id=person, limit=500).entries if e.reason == reason)
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def meetings_votes_donations(ctx) -> None:
    """A deliberation meeting, a vote and a donation earn micro-points through the services' events."""
    import uuid

    rpc, p = ctx.rpc, ctx.rpc.participation
    ctx.section("Participation: a meeting, a vote and a donation earn micro-points (events from mediation, matching)")
    worker, officer = "CW-ZQ", "SD-DJ"
    voter = rpc.registry.electorate(building_ids=["ZQ-JHJY-B01"]).households[0]
    owner, helper = voter.owner_ids[0], _owners(rpc, "ZQ-JHJY", 3)[-1]
    matter = rpc.mediation.open_matter(
        actor=worker, title="嘉和景苑楼道堆物整治 clearing the stairwells", topic="public_space",
        complex_id="ZQ-JHJY", parties=["party_branch", "property_company", "self_management_committee",
                                       "building_leaders"], request_id=uuid.uuid4().hex).matter
    rpc.mediation.record_meeting(
        actor=worker, matter_id=matter.id, kind="deliberation", held_at=datetime.now(UTC).isoformat(),
        agenda=[{"title": "楼道堆物限期清理 a deadline for clearing stairwells"}],
        attendance=[{"person_id": owner, "role": "楼组长 building leader"},
                    {"person_id": helper, "role": "业主 owner"}],
        minutes="同意征询业主意见 agreed to consult the owners", request_id=uuid.uuid4().hex)
    ctx.say(f"A deliberation meeting on '{matter.title}' records {owner} and {helper} as attending;")
    ctx.say(f"  mediation publishes meeting_recorded (person ids only): {owner} earns "
            f"{_points_for(p, owner, 'attended a deliberation meeting')} points.")

    consultation = rpc.mediation.open_consultation(
        actor=worker, matter_id=matter.id, art278_item=9, question="楼道堆物限期一个月清理? Clear within a month?",
        options=[{"id": "agree", "label": "同意 agree"}, {"id": "disagree", "label": "不同意 disagree"}],
        approve_option="agree", closes_at=(datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
        complex_id="ZQ-JHJY", building_ids=["ZQ-JHJY-B01"], request_id=uuid.uuid4().hex).consultation
    for option in ("disagree", "agree"):  # the owner changes their mind: one vote, one award
        rpc.mediation.cast_ballot(actor=owner, consultation_id=consultation.id, household_id=voter.household_id,
                                  owner_id=owner, option=option, request_id=uuid.uuid4().hex)
    ctx.say(f"{owner} votes online, then changes their mind: ballot_cast names who and where, never the choice;")
    voted = _points_for(p, owner, "voted in an owners' consultation")
    ctx.say(f"  {voted} points, once for the consultation.")

    today = datetime.now(UTC).date()
    key = uuid.uuid4().hex[:8]
    [offer] = rpc.matching.add_offers(actor=worker, request_id=uuid.uuid4().hex, offers=[{
        "id": f"ZQ-GIFT-{key}", "provider_id": helper, "provider_kind": "person", "provider_name": "居民",
        "title": "轮椅", "description": "家里闲置的折叠轮椅，九成新", "category": "furniture", "quantity": 1, "unit": "件",
        "estimated_value": "600", "complex_id": "ZQ-JHJY"}]).offers
    rpc.matching.add_needs(actor=worker, request_id=uuid.uuid4().hex, needs=[{
        "id": f"ZQ-NEED-{key}", "requester_id": "ZQ-JHJY", "title": "轮椅", "description": "独居老人出行需要轮椅", "category": "furniture",
        "quantity": 1, "unit": "件", "priority": 5, "needed_by": (today + timedelta(days=14)).isoformat(),
        "budget_estimate": "800"}])
    run = rpc.matching.run_matching(actor=officer, request_id=uuid.uuid4().hex)
    pair = next((x for x in run.proposals if x.offer_id == offer.id), None)
    if pair is None:
        ctx.say(f"(matching paired {helper}'s wheelchair with no need this run: no donation points)")
        return
    for side in ("offer", "need"):
        rpc.matching.decide(actor=worker, request_id=uuid.uuid4().hex, proposal_id=pair.id, side=side,
                            decision="accept")
    rpc.matching.fulfil(actor=worker, request_id=uuid.uuid4().hex, proposal_id=pair.id, delivered_quantity=1)
    ctx.say(f"{helper} gives a wheelchair; matching pairs it with an elderly resident's need and delivers it;")
    ctx.say(f"  proposal_fulfilled names the giver: {_points_for(p, helper, 'a donation delivered through matching')} "
            "points.")
    ctx.table(["entry", "points", "why"], [[e.kind, e.amount, e.reason]
                                           for e in p.balance(person_id=helper).entries[:4]])
    ctx.hint(f"participation.balance '{{\"person_id\": \"{owner}\"}}'")


meetings_votes_donations.order = 56
meetings_votes_donations.services = ("registry", "mediation", "matching", "participation")
