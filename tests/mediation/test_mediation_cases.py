"""Dispute cases and deliberation end to end: intake, mediators, outcomes, time limits, stages, meetings."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.mediation.timelimits import BEIJING
from redprop.testing import events
from redprop.testing.suite import wait_for
from tests.mediation.mediation_helpers import ago, new_matter

pytestmark = pytest.mark.integration

PARTIES = [{"kind": "household", "id": "EQ-1", "name": "1室"}, {"kind": "company", "id": "CO1", "name": "物业"}]


def rid() -> str:
    return uuid.uuid4().hex


def open_case(rpc, **extra):
    fields = dict(category="parking", summary="停车费争议 parking fee dispute", parties=PARTIES, level="grid",
                  scope_id="G1", request_id=rid())
    return rpc.mediation.open_case(actor="STAFF", **{**fields, **extra})


def _events_queue(settings):
    return events.bind(settings, "mediation")


def drain(settings, queue) -> list[dict]:
    return [body for _key, body in events.drain(settings, queue)]


def metrics(suite) -> str:
    import urllib.request

    port = suite.settings.metrics_port("mediation")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def test_intake_from_ticketing_is_idempotent_on_request_and_ticket(suite):
    rpc = suite.rpc
    queue = _events_queue(suite.settings)
    intake = dict(source="ticketing", ticket_id="T-1001", attachments=["https://example.org/photo.jpg"])
    first = open_case(rpc, request_id="ticket-T-1001-a", **intake)
    assert first.created and first.case.state == "open" and first.case.ticket_id == "T-1001"
    assert first.case.settle_by - first.case.opened_at == timedelta(days=30)
    assert open_case(rpc, request_id="ticket-T-1001-a", **intake) == first  # a retry
    with pytest.raises(Conflict, match="already used"):  # the same request id for another request
        open_case(rpc, request_id="ticket-T-1001-a", source="ticketing", ticket_id="T-1001")
    again = open_case(rpc, source="ticketing", ticket_id="T-1001", request_id="ticket-T-1001-b")
    assert not again.created and again.case.id == first.case.id
    assert rpc.mediation.list_cases().total == 1
    events = wait_for(lambda: [e for e in drain(suite.settings, queue) if e.get("case_id")], message="case_opened")
    assert [(e["case_id"], e["ticket_id"]) for e in events] == [(first.case.id, "T-1001")]


def test_bad_case_input_is_refused_by_field(suite):
    rpc = suite.rpc
    with pytest.raises(ValidationFailed) as err:
        open_case(rpc, level="city", parties=[])
    assert {f["field"] for f in err.value.fields} == {"level", "parties"}
    with pytest.raises(ValidationFailed):
        open_case(rpc, source="ticketing")  # a ticketing case without its ticket
    with pytest.raises(ValidationFailed):
        open_case(rpc, parties=PARTIES + PARTIES[:1])
    with pytest.raises(ValidationFailed) as err:
        open_case(rpc, attachments=["not a url"])
    assert err.value.fields[0]["field"].startswith("attachments")
    with pytest.raises(NotFound) as err:
        rpc.mediation.get_case(case_id="nope")
    assert err.value.details["field"] == "case_id"
    assert rpc.mediation.list_cases().total == 0


def test_a_case_from_mediators_to_agreement_performance_and_statistics(suite):
    rpc = suite.rpc
    case = open_case(rpc).case
    busy = open_case(rpc).case
    # GM1 already carries a case, so the next grid member assigned is GM2.
    rpc.mediation.assign_mediators(actor="STAFF", case_id=busy.id, kinds=["grid_member"], request_id=rid())
    first_gm = rpc.mediation.get_case(case_id=busy.id).case.mediators[0].person_id
    assigned = rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["judge", "grid_member", "grid_head"],
                                              within="S", request_id=rid()).case
    kinds = {m.kind: m.person_id for m in assigned.mediators}
    assert kinds["judge"] == "J1" and kinds["grid_head"] == "GH1"
    assert kinds["grid_member"] != first_gm and assigned.state == "mediating"
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["prosecutor"], within="S", request_id=rid())
    assert err.value.fields[0]["field"] == "kinds.0"

    session = rpc.mediation.schedule_session(actor="STAFF", case_id=case.id, scheduled_at=ago(hours=-2), place="议事厅",
                                             request_id=rid()).case.sessions[0]
    rpc.mediation.record_session(actor="STAFF", case_id=case.id, session_id=session.id, held_at=ago(seconds=0),
                                 notes="双方同意 both agree", request_id=rid())
    with pytest.raises(Conflict):
        rpc.mediation.record_session(actor="STAFF", case_id=case.id, session_id=session.id, held_at=ago(seconds=0), notes="again",
                                     request_id=rid())
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), outcome={
            "kind": "agreement", "form": "oral", "oral_record": "r", "facts": "f",
            "terms": [{"text": "pay", "performer_id": "STRANGER",
                       "method": "transfer", "due_on": "2030-01-01"}]})
    assert err.value.fields[0]["field"] == "outcome.terms.0.performer_id"
    due = date.today() - timedelta(days=1)
    settled = rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), outcome={
        "kind": "agreement", "form": "oral", "oral_record": "物业退还20元并张贴规则 refund and post the rule",
        "facts": "收费按公示执行 the posted fee applies",
        "terms": [{"text": "refund 20 yuan", "performer_id": "CO1", "method": "WeChat transfer", "due_on": str(due)},
                  {"text": "post the rule", "performer_id": "CO1", "method": "notice board", "due_on": "2099-01-01"}]}
    ).case
    # Art. 33 on Beijing dates, moved past rest days (Civil Code Art. 203); see test_agreement_window.py.
    effective_on = settled.concluded_at.astimezone(BEIJING).date()
    assert settled.state == "settled" and settled.agreement.effective_on == effective_on
    assert settled.agreement.confirm_period_ends_on == effective_on + timedelta(days=30)
    assert settled.confirm_by >= effective_on + timedelta(days=30)
    with pytest.raises(Conflict):
        rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(),
                                    outcome={"kind": "withdrawal", "reason": "x", "withdrawn_by": "EQ-1"})

    kinds_due = {(r.kind, r.subject_id) for r in rpc.mediation.due_reminders().reminders}
    assert ("court_confirmation", case.id) in kinds_due and ("performance_due", f"{case.id}:1") in kinds_due
    assert ("performance_due", f"{case.id}:2") not in kinds_due
    rpc.mediation.record_performance(actor="STAFF", case_id=case.id, term_no=1, performed_on=str(date.today()), request_id=rid())
    with pytest.raises(ValidationFailed):
        rpc.mediation.record_performance(actor="STAFF", case_id=case.id, term_no=3, performed_on=str(date.today()), request_id=rid())
    assert ("performance_due", f"{case.id}:1") not in {
        (r.kind, r.subject_id) for r in rpc.mediation.due_reminders().reminders}

    rpc.mediation.conclude_case(actor="STAFF", case_id=busy.id, request_id=rid(),
                                outcome={"kind": "failure", "reason": "no agreement", "referral": "court",
                                         "referred_to": "人民法庭"})
    open_case(rpc, level="community", scope_id="C1")
    stats = rpc.mediation.statistics()
    grid = next(s for s in stats.levels if s.level == "grid")
    assert (grid.screened, grid.settled, grid.failed, grid.in_progress) == (2, 1, 1, 0)
    assert grid.success_rate == "1/2" and str(grid.success_percent) == "50.00"
    assert stats.total.screened == 3 and stats.total.in_progress == 1
    records = rpc.mediation.records(matter_id=case.id)
    assert [r.kind for r in records.items] == ["case_opened", "session_minutes", "agreement_drafted", "agreement", "performance"]
    assert rpc.mediation.verify(matter_id=case.id).ok
    series = metrics(suite)
    assert 'redprop_mediation_cases{level="grid",state="settled"} 1.0' in series
    assert 'redprop_mediation_cases{level="community",state="open"} 1.0' in series
    assert 'redprop_mediation_time_to_conclude_seconds_count{level="grid",state="failed"} 1.0' in series


def test_time_limits_and_reminders_are_emitted_once(suite):
    rpc = suite.rpc
    queue = _events_queue(suite.settings)
    late = open_case(rpc, opened_at=ago(days=31)).case
    near = open_case(rpc, opened_at=ago(days=27)).case
    fresh = open_case(rpc, opened_at=ago(days=1), settle_within_days=10).case
    assert fresh.settle_by - fresh.opened_at == timedelta(days=10)
    due = {r.subject_id: r.kind for r in rpc.mediation.due_reminders().reminders}
    assert due == {late.id: "settlement_overdue", near.id: "settlement_due"}
    later = datetime.now(UTC) + timedelta(days=6)
    assert {r.subject_id: r.kind for r in rpc.mediation.due_reminders(as_of=later).reminders}[fresh.id] == "settlement_due"
    sent = rpc.mediation.send_reminders(actor="STAFF", request_id=rid()).sent
    assert {r.subject_id for r in sent} == {late.id, near.id}
    assert rpc.mediation.send_reminders(actor="STAFF", request_id=rid()).sent == []  # each reminder once
    events = wait_for(lambda: [e for e in drain(suite.settings, queue) if "reminder" in e], message="reminders")
    assert sorted(e["reminder"]["subject_id"] for e in events) == sorted([late.id, near.id])


def test_publication_reminder_after_a_consultation_closes(suite):
    from tests.mediation.mediation_helpers import close_after, paper, short_consultation

    rpc = suite.rpc
    matter = new_matter(rpc)
    consultation = short_consultation(rpc, matter, ["EQ"])
    cid = consultation.id
    paper(rpc, consultation, "EQ-1", "O-EQ1")
    with pytest.raises(Conflict):
        rpc.mediation.publish_result(actor="STAFF", consultation_id=cid, complex_id="X1", where="notice board",
                                     request_id=rid())
    close_after(rpc, consultation)
    closed = rpc.mediation.get_consultation(consultation_id=cid).consultation
    assert closed.publish_by == closed.closed_at + timedelta(days=3)
    assert not closed.result.passed  # 1 of 3 households took part
    series = metrics(suite)
    assert 'redprop_mediation_decisions_total{passed="false",rule="art278_ordinary"} 1.0' in series
    assert 'redprop_mediation_consultation_participation_ratio_bucket{basis="headcount",le="0.4"} 1.0' in series
    reminder = next(r for r in rpc.mediation.due_reminders().reminders if r.subject_id == cid)
    assert reminder.kind == "publication_due" and reminder.due_at == closed.publish_by
    published = rpc.mediation.publish_result(actor="STAFF", consultation_id=cid, complex_id="X1",
                                             where="公告栏 notice board", request_id=rid())
    assert published.consultation.state == "published"
    assert all(r.subject_id != cid for r in rpc.mediation.due_reminders().reminders)


def test_deliberation_stages_are_never_skipped_silently(suite):
    rpc = suite.rpc
    matter = new_matter(rpc)
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.advance_matter(actor="STAFF", matter_id=matter, to_stage="consultation", request_id=rid())
    assert err.value.fields[0]["field"] == "skip_reason"
    moved = rpc.mediation.advance_matter(actor="STAFF", matter_id=matter, to_stage="consultation", decided_by="P1",
                                         skip_reason="调研已在月度会完成 research done at the monthly meeting",
                                         request_id=rid()).matter
    assert [(s.stage, s.action) for s in moved.stages] == [
        ("research", "entered"), ("symposium", "skipped"), ("consultation", "entered")]
    assert moved.stages[1].reason.startswith("调研")
    with pytest.raises(Conflict):
        rpc.mediation.advance_matter(actor="STAFF", matter_id=matter, to_stage="research", request_id=rid())
    with pytest.raises(Conflict):  # progress is tracked once implementation starts
        rpc.mediation.record_progress(actor="STAFF", matter_id=matter, percent=10, note="n", request_id=rid())
    meeting = rpc.mediation.record_meeting(actor="STAFF",
        matter_id=matter, kind="deliberation", held_at=ago(hours=1),
        agenda=[{"title": "临时停车收费", "links": [{"kind": "ticket", "id": "T-1"}]}],
        attendance=[{"person_id": "P1", "role": "party secretary"}],
        organisations=[{"party": "party_branch"}, {"party": "property_company", "organisation_id": "CO1"}],
        minutes="同意征询 agreed to consult owners", request_id=rid()).meeting
    for stage in ("decision", "publication", "implementation"):
        rpc.mediation.advance_matter(actor="STAFF", matter_id=matter, to_stage=stage, request_id=rid())
    rpc.mediation.record_progress(actor="STAFF", matter_id=matter, percent=40, note="signs ordered", request_id=rid())
    with pytest.raises(ValidationFailed):
        rpc.mediation.record_progress(actor="STAFF", matter_id=matter, percent=20, note="back", request_id=rid())
    done = rpc.mediation.record_progress(actor="STAFF", matter_id=matter, percent=100, note="new rule in force",
                                         request_id=rid()).matter
    assert [p.percent for p in done.progress] == [40, 100] and done.meetings[0].id == meeting.id
    joint = rpc.mediation.record_meeting(actor="STAFF",
        kind="joint_monthly", held_at=ago(hours=1), agenda=[{"title": "月度联席会"}], minutes="3 items resolved",
        resolved=[{"title": "停车", "links": [{"kind": "matter", "id": matter}, {"kind": "case", "id": "c1"}]}],
        request_id=rid()).meeting
    listed = rpc.mediation.list_meetings(kind="joint_monthly")
    assert [m.id for m in listed.items] == [joint.id] and listed.resolved_items == 1
    with pytest.raises(ValidationFailed):  # only joint meetings stand without a matter
        rpc.mediation.record_meeting(actor="STAFF", kind="deliberation", held_at=ago(hours=1), agenda=[{"title": "x"}],
                                     minutes="m", request_id=rid())
    kinds = [r.kind for r in rpc.mediation.records(matter_id=matter).items]
    assert kinds[:3] == ["matter_opened", "stage", "meeting"] and kinds.count("progress") == 2
    assert rpc.mediation.find_matters(title_contains="PARKING").items[0].id == matter
    assert rpc.mediation.verify(matter_id=matter).ok


def test_a_cases_particulars_are_shown_whole_only_to_those_who_may_see_them(suite):
    """Mediation 2.4 (PIPL Art. 6): the parties' address, identity and phone, and the numbers in the description,
    go whole to the case's mediators, a worker or officer covering it, and its parties; masked to anyone else."""
    rpc = suite.rpc
    me = {"kind": "person", "id": "O-EQ1", "name": "张三", "address": "阳光小区EQ幢1室",
          "identity": "310101199001011234", "phone": "13900000001"}
    company = {"kind": "company", "id": "CO1", "name": "物业", "phone": "021-5555 1234"}
    case = open_case(rpc, parties=[me, company], description="张三电话 13900000001").case
    assert case.parties[0].phone == "13900000001"  # the reply to the worker who opened it

    def read(viewer):
        return rpc.mediation.get_case(case_id=case.id, viewer_id=viewer).case

    rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["grid_head"], request_id=rid())
    for viewer in ("STAFF", "GH1", "J1", "O-EQ1"):  # the community's worker, its mediator, a judge above, a party
        seen = read(viewer)
        assert seen.parties == case.parties and "13900000001" in seen.description, viewer
    for viewer in (None, "WIT", "NOBODY"):  # not given, a person with no post, nobody the registry knows
        masked = read(viewer)
        person, firm = masked.parties
        assert (person.name, person.phone, person.identity, person.address) == (
            "张三", "139****0001", "3101**********1234", "阳光小区EQ****"), viewer
        assert firm.phone == "021****1234" and "13900000001" not in masked.description
    assert rpc.mediation.list_cases(viewer_id="WIT").items[0].parties[0].phone == "139****0001"
    assert rpc.mediation.list_cases(viewer_id="GH1").items[0].parties[0].phone == "13900000001"

    # A masked number read back is no number: it cannot be written into a case.
    with pytest.raises(ValidationFailed) as refused:
        open_case(rpc, parties=[{**me, "phone": "139****0001"}, company])
    assert [f["field"] for f in refused.value.fields] == ["parties"]
    with pytest.raises(ValidationFailed) as refused:
        rpc.mediation.add_party(actor="STAFF", case_id=case.id, party={**company, "phone": "021****1234"},
                                request_id=rid())
    assert [f["field"] for f in refused.value.fields] == ["party"]
    assert read("STAFF").parties[1].phone == "021-5555 1234"  # unchanged
