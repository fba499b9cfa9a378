"""Points from the other services' events over the real broker: attending a deliberation meeting, voting in a
consultation and a donation delivered through matching each earn once (also when redelivered or re-cast), a
person the registry does not know earns nothing and is logged, and every balance is the sum of its entries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from redprop.contracts import matching as mt
from redprop.contracts import mediation as md
from redprop.testing.events import deliver
from redprop.testing.suite import wait_for
from tests.participation.conftest import IN_SERVICE, RESIDENT, SECRETARY, rid, start
from tests.participation.test_ledger import _entries_sum, _ledger_balanced

NOW = datetime.now(UTC)


def meeting(meeting_id: str, *people: str) -> md.MeetingRecorded:
    return md.MeetingRecorded(district="990001", meeting_id=meeting_id, matter_id="M1", kind="deliberation",
                              held_at=NOW, attendee_ids=list(people))


def ballot(consultation_id: str, person: str) -> md.BallotCast:
    return md.BallotCast(district="990001", consultation_id=consultation_id, person_id=person, cast_at=NOW)


def donation(proposal_id: str, provider: str, kind: str = "person") -> mt.ProposalFulfilled:
    return mt.ProposalFulfilled(district="990001", proposal_id=proposal_id, offer_id="OF1", need_id="ND1",
                                delivered_quantity=1, savings=Decimal("100"), provider_id=provider,
                                provider_kind=kind)


def test_meetings_votes_and_donations_earn_once_each(run_suite, small_district, backend):
    suite = start(run_suite, small_district, backend)
    p = suite.rpc.participation
    first = meeting("MT1", RESIDENT, SECRETARY, RESIDENT)  # a name listed twice attends once
    deliver(suite.settings, "mediation", first)
    deliver(suite.settings, "mediation", first)            # a redelivery
    deliver(suite.settings, "mediation", meeting("MT2", RESIDENT))
    vote = ballot("CS1", RESIDENT)
    deliver(suite.settings, "mediation", vote, vote)       # redelivered
    deliver(suite.settings, "mediation", ballot("CS1", RESIDENT))  # re-cast: a new event, the same vote
    deliver(suite.settings, "mediation", ballot("CS2", RESIDENT))
    gift = donation("PR1", RESIDENT)
    deliver(suite.settings, "matching", gift, gift)
    deliver(suite.settings, "matching", donation("PR2", "ORG-TEL", kind="organisation"))  # a unit earns nothing
    # defaults: 5 a meeting, 3 a vote, 10 a donation: 2 meetings + 2 consultations + 1 donation
    wait_for(lambda: p.balance(person_id=RESIDENT).balance >= 26, timeout=20)
    wait_for(lambda: p.balance(person_id=SECRETARY).balance >= 5, timeout=10)
    deliver(suite.settings, "mediation", meeting("MT-LAST", IN_SERVICE))  # a marker: events after it have settled
    wait_for(lambda: p.balance(person_id=IN_SERVICE).balance == 5, timeout=10)
    reply = p.balance(person_id=RESIDENT)
    assert (reply.balance, reply.earned) == (26, 26)
    assert sorted((e.amount, e.reason) for e in reply.entries) == [
        (3, "voted in an owners' consultation"), (3, "voted in an owners' consultation"),
        (5, "attended a deliberation meeting"), (5, "attended a deliberation meeting"),
        (10, "a donation delivered through matching")]
    assert sum(e.amount for e in reply.entries) == reply.balance == _entries_sum(suite, RESIDENT)
    assert p.balance(person_id=SECRETARY).balance == 5
    assert p.balance(person_id="ORG-TEL").balance == 0
    assert _ledger_balanced(suite)


def test_an_unknown_person_earns_nothing_and_is_logged(run_suite, small_district, caplog):
    suite = start(run_suite, small_district)
    p = suite.rpc.participation
    with caplog.at_level(logging.WARNING, logger="redprop.services.participation.service"):
        deliver(suite.settings, "mediation", meeting("MT9", "NOBODY", RESIDENT))
        deliver(suite.settings, "mediation", ballot("CS9", "NOBODY"))
        deliver(suite.settings, "matching", donation("PR9", "NOBODY"))
        deliver(suite.settings, "mediation", ballot("CS-LAST", RESIDENT))
        wait_for(lambda: p.balance(person_id=RESIDENT).balance == 8, timeout=15)
        mine = "redprop.services.participation.service"
        wait_for(lambda: sorted(r.getMessage().split()[1] for r in caplog.records
                                if r.name == mine and "NOBODY" in r.getMessage())
                 == ["donation_fulfilled", "meeting_attended", "voted"], timeout=10)
    assert p.balance(person_id="NOBODY").balance == 0
    assert _entries_sum(suite, "NOBODY") == 0
    assert _ledger_balanced(suite)


def test_points_per_fact_are_options(run_suite, small_district):
    suite = start(run_suite, small_district, points_per_meeting=0, points_per_vote=7, points_per_donation=1)
    p = suite.rpc.participation
    deliver(suite.settings, "mediation", meeting("MT1", RESIDENT))  # 0: earns nothing, writes no entry
    deliver(suite.settings, "mediation", ballot("CS1", RESIDENT))
    deliver(suite.settings, "matching", donation("PR1", RESIDENT))
    wait_for(lambda: p.balance(person_id=RESIDENT).balance == 8, timeout=15)
    assert sorted(e.amount for e in p.balance(person_id=RESIDENT).entries) == [1, 7]


def test_mediation_publishes_attendance_and_votes_without_the_choice(run_suite):
    """End to end: mediation's outbox publishes who attended and who voted (never the option), and
    participation credits them, a re-cast ballot once."""
    import time

    from redprop.testing.events import bind, drain
    from tests.mediation.mediation_helpers import OPTIONS, mediation_district, new_matter

    suite = run_suite("registry", "mediation", "participation")
    assert suite.rpc.registry.upsert(actor="P-DATA", records=mediation_district(), request_id=rid("load")).applied
    queue = bind(suite.settings, "mediation")
    rpc, p = suite.rpc, suite.rpc.participation
    matter = new_matter(rpc)
    rpc.mediation.record_meeting(actor="STAFF", matter_id=matter, kind="deliberation", held_at=NOW,
                                 agenda=[{"title": "停车收费"}], minutes="同意征询",
                                 attendance=[{"person_id": "O-M1", "role": "owner"},
                                             {"person_id": "STAFF", "role": "worker"}], request_id=rid("meet"))
    consultation = rpc.mediation.open_consultation(
        actor="STAFF", matter_id=matter, art278_item=5, question="同意吗?", approve_option="agree", options=OPTIONS,
        closes_at=datetime.now(UTC) + timedelta(seconds=60), complex_id="X1", building_ids=["MAJ"],
        request_id=rid("open")).consultation
    for n, option in enumerate(("agree", "disagree")):  # the owner changes their mind: one vote
        rpc.mediation.cast_ballot(actor="O-M1", consultation_id=consultation.id, household_id="MJ-1",
                                  owner_id="O-M1", option=option, request_id=rid(f"vote{n}"))
    wait_for(lambda: p.balance(person_id="O-M1").balance >= 8, timeout=20)
    time.sleep(0.5)
    assert p.balance(person_id="O-M1").balance == 8  # 5 for the meeting, 3 for the vote
    assert p.balance(person_id="STAFF").balance == 5
    published = drain(suite.settings, queue)
    [met] = [b for k, b in published if k == "mediation.meeting_recorded"]
    assert sorted(met["attendee_ids"]) == ["O-M1", "STAFF"]
    votes = [b for k, b in published if k == "mediation.ballot_cast"]
    assert len(votes) == 2 and {v["person_id"] for v in votes} == {"O-M1"}
    for vote in votes:  # who and where only: no option, household or owner
        assert not {"option", "household_id", "owner_id"} & set(vote)
        assert "agree" not in str(vote)
