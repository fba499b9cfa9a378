"""Owners' consultations end to end over the real broker: Art. 278 edge cases, ballot rules, tampering."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from redprop.db.engine import build_engine
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.mediation.mediation_helpers import ago, new_matter, paper, past_consultation, start

pytestmark = pytest.mark.integration


def close(rpc, cid):
    return rpc.mediation.close_consultation(consultation_id=cid, request_id=uuid.uuid4().hex).consultation.result


def test_art278_edge_cases_decided_exactly(run_suite, backend):
    rpc = start(run_suite, backend).rpc
    matter = new_matter(rpc)

    # Exactly 2/3 participation by area and by headcount: enough.
    eq = past_consultation(rpc, matter, ["EQ"])
    paper(rpc, eq, "EQ-1", "O-EQ1")
    paper(rpc, eq, "EQ-2", "O-EQ2", option="disagree")
    paper(rpc, eq, "EQ-2", "O-EQ2")  # changed their mind: the later ballot counts
    result = close(rpc, eq)
    assert result.participation_by_area.ratio == "2/3" and result.participation_by_headcount.ratio == "2/3"
    assert result.passed and result.decided_by == "all" and result.superseded_ballots == 1

    # Area passes (200 of 300 m²) but headcount fails (1 of 3).
    area_only = past_consultation(rpc, matter, ["SPLIT"])
    paper(rpc, area_only, "SP-BIG", "O-BIG")
    result = close(rpc, area_only)
    assert result.participation_by_area.ratio == "2/3" and result.participation_by_headcount.ratio == "1/3"
    assert not result.passed and result.decided_by == "participation_by_headcount"

    # The reverse: headcount passes (2 of 3) but area fails (100 of 300 m²).
    head_only = past_consultation(rpc, matter, ["SPLIT"])
    paper(rpc, head_only, "SP-S1", "O-S1")
    paper(rpc, head_only, "SP-S2", "O-S2")
    result = close(rpc, head_only)
    assert not result.passed and result.decided_by == "participation_by_area"
    assert str(result.participating_area_m2) == "100.00"

    # Exactly 3/4 approval on a major matter passes; the same ballots minus one approval do not.
    major = past_consultation(rpc, matter, ["MAJ"], rule="art278_major")
    for hid, owner in (("MJ-1", "O-M1"), ("MJ-2", "O-M2B"), ("MJ-3", "O-M3")):
        paper(rpc, major, hid, owner)
    paper(rpc, major, "MJ-4", "O-M4", option="disagree")
    result = close(rpc, major)
    assert result.approval_by_area.ratio == "3/4" and result.approval_by_headcount.ratio == "3/4"
    assert result.passed and str(result.approving_area_m2) == "266.64"

    failed_major = past_consultation(rpc, matter, ["MAJ"], rule="art278_major")
    paper(rpc, failed_major, "MJ-1", "O-M1")
    paper(rpc, failed_major, "MJ-2", "O-M2")
    paper(rpc, failed_major, "MJ-3", "O-M3", option="abstain")  # abstaining participates, does not approve
    result = close(rpc, failed_major)  # 3 of 4 took part; 2 of those 3 approve: 2/3 < 3/4
    assert result.participation_by_headcount.ratio == "3/4"
    assert not result.passed and result.decided_by == "approval_by_area"
    assert [(k.value, k.threshold, k.passed) for k in result.checks[2:]] == [("2/3", "3/4", False)] * 2

    # The whole matter verifies: the chain and every stored ballot and result against its record.
    verdict = rpc.mediation.verify(matter_id=matter)
    assert verdict.ok, verdict.failures
    assert verdict.cross_checked >= 5 + 13  # opened + ballots + results


def test_ballot_rules(suite):
    rpc = suite.rpc
    matter = new_matter(rpc)
    cid = past_consultation(rpc, matter, ["MAJ"])
    with pytest.raises(PermissionDenied) as err:
        paper(rpc, cid, "MJ-1", "O-M2")  # an owner, but of another household
    assert err.value.details["field"] == "owner_id"
    with pytest.raises(PermissionDenied) as err:
        paper(rpc, cid, "EQ-1", "O-EQ1")  # not in this consultation's electorate
    assert err.value.details["field"] == "household_id"
    with pytest.raises(ValidationFailed) as err:
        paper(rpc, cid, "MJ-1", "O-M1", option="maybe")
    assert [f["field"] for f in err.value.fields] == ["option"]
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.cast_ballot(consultation_id=cid, household_id="MJ-1", owner_id="O-M1", option="agree",
                                  channel="paper")  # no clerk
    assert err.value.fields[0]["field"] == ""
    with pytest.raises(Conflict, match="late"):  # online, after the window
        rpc.mediation.cast_ballot(consultation_id=cid, household_id="MJ-1", owner_id="O-M1", option="agree")
    with pytest.raises(Conflict, match="late"):  # a paper ballot dated after closing
        rpc.mediation.cast_ballot(consultation_id=cid, household_id="MJ-1", owner_id="O-M1", option="agree",
                                  channel="paper", entered_by="STAFF", cast_at=ago(seconds=0))
    with pytest.raises(NotFound):
        rpc.mediation.cast_ballot(consultation_id="nope", household_id="MJ-1", owner_id="O-M1", option="agree")

    first = paper(rpc, cid, "MJ-2", "O-M2", option="disagree")
    second = paper(rpc, cid, "MJ-2", "O-M2B", option="agree")  # a co-owner changes the household's vote
    assert second.supersedes == first.ballot.id and first.supersedes is None
    history = rpc.mediation.ballots(consultation_id=cid, household_id="MJ-2")
    assert [(b.option, b.superseded_by) for b in history.items] == [("disagree", second.ballot.id), ("agree", None)]
    assert history.items[0].channel == "paper" and history.items[0].entered_by == "STAFF"
    assert rpc.mediation.tally(consultation_id=cid).result.participating_owners == 1

    close(rpc, cid)
    with pytest.raises(Conflict, match="closed"):
        paper(rpc, cid, "MJ-1", "O-M1")
    with pytest.raises(Conflict):
        close(rpc, cid)

    # Not yet open / still running.
    future = rpc.mediation.open_consultation(
        matter_id=matter, question="later", options=[{"id": "agree", "label": "y"}, {"id": "no", "label": "n"}],
        approve_option="agree", opens_at=ago(days=-1), closes_at=ago(days=-2), building_ids=["MAJ"],
        request_id=uuid.uuid4().hex).consultation
    with pytest.raises(Conflict, match="opens at"):
        rpc.mediation.cast_ballot(consultation_id=future.id, household_id="MJ-1", owner_id="O-M1", option="agree")
    with pytest.raises(Conflict, match="runs until"):
        close(rpc, future.id)


def test_opening_a_consultation_checks_its_input(suite):
    rpc = suite.rpc
    matter = new_matter(rpc)
    base = dict(matter_id=matter, question="q", approve_option="agree", opens_at=ago(days=1), closes_at=ago(days=-1),
                options=[{"id": "agree", "label": "y"}, {"id": "no", "label": "n"}])
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.open_consultation(**{**base, "rule": "dictator"}, complex_id="X1")
    assert err.value.fields[0]["field"] == "rule"
    with pytest.raises(ValidationFailed):
        rpc.mediation.open_consultation(**{**base, "approve_option": "maybe"}, complex_id="X1")
    with pytest.raises(ValidationFailed):
        rpc.mediation.open_consultation(**{**base, "closes_at": ago(days=2)}, complex_id="X1")
    with pytest.raises(ValidationFailed):
        rpc.mediation.open_consultation(**base)  # no electorate scope
    with pytest.raises(NotFound) as err:
        rpc.mediation.open_consultation(**base, complex_id="NO-SUCH")
    assert err.value.details["field"] == "complex_id"
    with pytest.raises(NotFound) as err:
        rpc.mediation.open_consultation(**{**base, "matter_id": "nope"}, complex_id="X1")
    assert err.value.details["field"] == "matter_id"
    whole = rpc.mediation.open_consultation(**base, complex_id="X1").consultation
    assert whole.electorate_households == 10 and str(whole.total_area_m2) == "955.52" and whole.total_owners == 10


def test_altering_a_stored_ballot_makes_verify_fail_and_name_it(run_suite, backend):
    suite = start(run_suite, backend)
    rpc = suite.rpc
    matter = new_matter(rpc)
    cid = past_consultation(rpc, matter, ["EQ"])
    ballots = [paper(rpc, cid, hid, owner).ballot for hid, owner in (("EQ-1", "O-EQ1"), ("EQ-2", "O-EQ2"))]
    close(rpc, cid)
    assert rpc.mediation.verify(matter_id=matter).ok
    engine = build_engine(suite.settings.database_url("mediation"))
    try:
        with engine.begin() as conn:  # someone edits the database behind the service's back
            conn.execute(text("UPDATE ballots SET option = 'disagree' WHERE id = :id"), {"id": ballots[1].id})
        verdict = rpc.mediation.verify(matter_id=matter)
        assert not verdict.ok
        assert [(f.seq, f.kind, f.ref_id) for f in verdict.failures] == [(ballots[1].record_seq, "ballot", ballots[1].id)]
        assert "altered" in verdict.failures[0].reason
        assert rpc.mediation.verify(seq=ballots[0].record_seq).ok  # the log up to the first ballot is intact

        # Editing the log itself breaks the chain at that record.
        with engine.begin() as conn:
            conn.execute(text("UPDATE ballots SET option = 'agree' WHERE id = :id"), {"id": ballots[1].id})
            conn.execute(text("UPDATE log_records SET payload = replace(payload, 'O-EQ1', 'O-EQ9') WHERE seq = :s"),
                         {"s": ballots[0].record_seq})
        verdict = rpc.mediation.verify(seq=ballots[1].record_seq)
        assert [(f.seq, f.ref_id) for f in verdict.failures] == [(ballots[0].record_seq, ballots[0].id)]
    finally:
        engine.dispose()
    with pytest.raises(NotFound):
        rpc.mediation.verify(seq=10_000)
    with pytest.raises(ValidationFailed):
        rpc.mediation.verify(seq=1, matter_id=matter)


def test_a_ballot_redelivered_after_a_crash_counts_once(make_settings, district_records, monkeypatch):
    from redprop.messaging.rpc import ContractRpcConsumer
    from redprop.testing.suite import Suite, wait_for

    settings = make_settings(["registry", "mediation"])
    suite = Suite(settings, ["registry", "mediation"]).start()
    client = suite.client()
    try:
        suite.rpc.registry.upsert(actor="P-DATA", records=district_records, request_id="load-mediation-district")
        matter = new_matter(suite.rpc)
        cid = past_consultation(suite.rpc, matter, ["EQ"])
        # The service commits the ballot, then dies before replying and acknowledging.
        crashed = []
        original = ContractRpcConsumer.handle_result

        def die_after_commit(self, message, result, exc_info):
            if self.container.service_name == "mediation" and not crashed:
                crashed.append(message)
                return result, exc_info  # no reply, no ack
            return original(self, message, result, exc_info)

        monkeypatch.setattr(ContractRpcConsumer, "handle_result", die_after_commit)
        pending = client.call_async("mediation", "cast_ballot", {
            "consultation_id": cid, "household_id": "EQ-1", "owner_id": "O-EQ1", "option": "agree",
            "channel": "paper", "entered_by": "STAFF", "cast_at": ago(days=5).isoformat(),
            "request_id": "ballot-crash-0001"})
        wait_for(lambda: crashed, message="the ballot to be processed")
    finally:
        suite.kill()
    monkeypatch.undo()
    with Suite(settings, ["registry", "mediation"]) as again:  # the broker redelivers the unacknowledged ballot
        reply = pending.result(timeout=20)
        assert reply.ballot.household_id == "EQ-1"
        history = again.rpc.mediation.ballots(consultation_id=cid)
        assert [b.id for b in history.items] == [reply.ballot.id]
        assert again.rpc.mediation.tally(consultation_id=cid).result.participating_owners == 1
        # A plain client retry with the same request id is answered from store, too.
        retry = again.rpc.mediation.cast_ballot(consultation_id=cid, household_id="EQ-1", owner_id="O-EQ1",
                                                option="agree", channel="paper", entered_by="STAFF",
                                                cast_at=reply.ballot.cast_at, request_id="ballot-crash-0001")
        assert retry == reply
        assert again.rpc.mediation.ballots(consultation_id=cid).total == 1
        assert again.rpc.mediation.verify(matter_id=matter).ok
    client.close()
