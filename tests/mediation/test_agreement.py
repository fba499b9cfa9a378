"""Mediation agreements and the parties' say, through the real broker (People's Mediation Law Art. 23, 28-33)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from redprop.errors import Conflict, PermissionDenied, ValidationFailed
from redprop.testing import events
from redprop.testing.suite import wait_for
from tests.mediation.mediation_helpers import mediation_district

pytestmark = pytest.mark.integration

ME = {"kind": "person", "id": "O-EQ1", "name": "张三"}
COMPANY = {"kind": "company", "id": "CO1", "name": "阳光物业公司", "address": "阳光小区1号", "representative_id": "O-S1"}


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def suite(run_suite):
    """registry + mediation, the test district plus a community worker (CW1, posted to community C1)."""
    suite = run_suite("registry", "mediation")
    records = mediation_district() + [
        {"kind": "person", "id": "CW1", "name": "社工"}, {"kind": "person", "id": "NOBODY", "name": "路人"},
        {"kind": "role", "id": "R-CW1", "person_id": "CW1", "role": "community_worker", "scope_id": "C1",
         "term_start": "2024-01-01"}]
    report = suite.rpc.registry.upsert(actor="P-DATA", records=records, request_id="load-agreement-district")
    assert report.applied and not report.errors, report.errors
    return suite


def open_case(rpc, parties, **extra):
    return rpc.mediation.open_case(actor="STAFF", category="leak", summary="漏水纠纷 a leak between flats", parties=parties,
                                   level="grid", scope_id="G1", request_id=rid(), **extra).case


def written(**extra) -> dict:
    return {"kind": "agreement", "form": "written", "facts": "楼上漏水致楼下吊顶受损",
            "matters": ["吊顶维修费用由谁承担 who pays the ceiling repair"],
            "responsibilities": [{"party_id": "O-EQ1", "text": "无责任 none"},
                                 {"party_id": "CO1", "text": "公共管道失修，负全部责任 all"}],
            "terms": [{"text": "赔偿维修费800元", "performer_id": "CO1", "method": "银行转账", "due_on": "2026-11-30"}],
            **extra}


def sign(rpc, case_id, actor, role, **extra):
    return rpc.mediation.sign_agreement(case_id=case_id, actor=actor, role=role, request_id=rid(), **extra).case


def test_a_written_agreement_takes_effect_with_the_last_signature_and_its_window_runs_on_beijing_dates(suite):
    rpc = suite.rpc
    queue = events.bind(suite.settings, "mediation")
    case = open_case(rpc, [ME], opened_at="2026-10-10T00:00:00+00:00")
    # A case from one side: the other is added by someone the case belongs to, never by a passer-by.
    with pytest.raises(PermissionDenied):
        rpc.mediation.add_party(case_id=case.id, actor="NOBODY", party=COMPANY, request_id=rid())
    rpc.mediation.add_party(case_id=case.id, actor="CW1", party=COMPANY, request_id=rid())
    rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["grid_head"], request_id=rid())

    # Art. 29: every party's responsibility and particulars.
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), concluded_at="2026-10-19T08:00:00+00:00",
                                    outcome=written(responsibilities=[{"party_id": "O-EQ1", "text": "无"}]))
    assert {f["field"] for f in err.value.fields} == {"outcome.responsibilities", "parties.0.address"}
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), outcome={**written(), "matters": []})
    assert err.value.fields[0]["field"] == "outcome.agreement"  # a written agreement states its matters
    rpc.mediation.add_party(case_id=case.id, actor="O-EQ1", request_id=rid(),
                            party={**ME, "address": "阳光小区EQ幢1室", "identity": "310101199001011234"})
    drafted = rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), outcome=written(),
                                          concluded_at="2026-10-19T08:00:00+00:00").case
    assert drafted.state == "mediating" and drafted.confirm_by is None and drafted.outcome is None
    assert drafted.agreement.missing == ["party:O-EQ1", "party:CO1", "mediator", "committee"]

    # Only a party signs for itself (or its representative); only the case's mediator signs and seals.
    with pytest.raises(PermissionDenied):
        sign(rpc, case.id, "NOBODY", "party")
    with pytest.raises(PermissionDenied):
        sign(rpc, case.id, "O-EQ1", "party", signer_id="CO1")
    with pytest.raises(PermissionDenied):
        sign(rpc, case.id, "J1", "committee")
    with pytest.raises(ValidationFailed) as err:
        sign(rpc, case.id, "O-EQ1", "party", signed_at="2026-10-18T00:00:00+00:00")
    assert err.value.fields[0]["field"] == "signed_at"
    sign(rpc, case.id, "O-EQ1", "party", signed_at="2026-10-20T09:00:00+00:00", method="fingerprint")
    with pytest.raises(Conflict):
        sign(rpc, case.id, "O-EQ1", "party", signed_at="2026-10-20T09:00:00+00:00")
    sign(rpc, case.id, "O-S1", "party", method="seal", signed_at="2026-10-20T10:00:00+00:00")
    sign(rpc, case.id, "GH1", "mediator", signed_at="2026-10-20T11:00:00+00:00")
    pending = rpc.mediation.get_case(case_id=case.id).case
    assert pending.state == "mediating" and pending.agreement.missing == ["committee"]
    assert not [e for _k, e in events.drain(suite.settings, queue) if e.get("state")]  # nothing concluded yet

    # The committee's seal last, at 01:00 Beijing on 10-21 (17:00 UTC on 10-20): in effect on 10-21.
    settled = sign(rpc, case.id, "GH1", "committee", method="seal", signed_at="2026-10-20T17:00:00+00:00")
    assert settled.state == "settled" and settled.agreement.effective_on == date(2026, 10, 21)
    assert settled.agreement.confirm_period_ends_on == date(2026, 11, 20) == settled.confirm_by  # a Friday
    assert settled.outcome["responsibilities"][1]["party_id"] == "CO1"
    concluded = wait_for(lambda: [e for _k, e in events.drain(suite.settings, queue) if e.get("state")],
                         message="case_concluded")
    assert [(e["case_id"], e["state"]) for e in concluded] == [(case.id, "settled")]
    with pytest.raises(Conflict):
        sign(rpc, case.id, "GH1", "mediator")

    # Art. 33: jointly, within the window.
    apply = dict(case_id=case.id, actor="O-EQ1", court="某区人民法院")
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.record_court_application(applied_on="2026-11-21", applicants=["O-EQ1", "CO1"],
                                               request_id=rid(), **apply)
    assert err.value.fields[0]["field"] == "applied_on" and err.value.fields[0]["type"] == "out_of_time"
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.record_court_application(applied_on="2026-11-20", applicants=["O-EQ1"], request_id=rid(),
                                               **apply)
    assert err.value.fields[0]["field"] == "applicants"
    rpc.mediation.record_court_application(applied_on="2026-11-20", applicants=["CO1", "O-EQ1"], request_id=rid(),
                                           **apply)
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.record_court_ruling(case_id=case.id, actor="GH1", outcome="confirmed", decided_on="2026-11-19",
                                          request_id=rid())
    assert err.value.fields[0]["field"] == "decided_on"
    with pytest.raises(PermissionDenied):
        rpc.mediation.record_court_ruling(case_id=case.id, actor="NOBODY", outcome="confirmed",
                                          decided_on="2026-11-27", request_id=rid())
    done = rpc.mediation.record_court_ruling(case_id=case.id, actor="GH1", outcome="confirmed",
                                             decided_on="2026-11-27", ruling_no="(2026)沪0101民特123号",
                                             request_id=rid()).case
    assert done.agreement.court_application.outcome == "confirmed"
    kinds = [r.kind for r in rpc.mediation.records(matter_id=case.id).items]
    assert kinds == ["case_opened", "party_added", "party_added", "agreement_drafted", "signature", "signature",
                     "signature", "signature", "agreement", "court_application", "court_ruling"]
    assert rpc.mediation.verify(matter_id=case.id).ok


def test_an_oral_agreement_is_recorded_and_in_effect_when_reached_between_two_parties(suite):
    rpc = suite.rpc
    case = open_case(rpc, [ME])
    rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["grid_member"], request_id=rid())
    oral = {"kind": "agreement", "form": "oral", "facts": "噪音", "oral_record": "双方同意晚十点后不装修",
            "terms": [{"text": "晚十点后停工", "performer_id": "O-EQ1", "method": "自行遵守", "due_on": "2030-01-01"}]}
    with pytest.raises(ValidationFailed) as err:  # one party cannot agree with itself
        rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), outcome=oral)
    assert err.value.fields[0]["field"] == "parties"
    with pytest.raises(ValidationFailed) as err:  # Art. 28: the mediator records an oral agreement's content
        rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), outcome={**oral, "oral_record": None})
    assert err.value.fields[0]["field"] == "outcome.agreement"
    rpc.mediation.add_party(case_id=case.id, actor="O-EQ1", party={"kind": "person", "id": "O-EQ2"},
                            request_id=rid())
    settled = rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), outcome=oral).case
    assert settled.state == "settled" and settled.agreement.form == "oral" and settled.agreement.missing == []
    assert settled.confirm_by is not None
    with pytest.raises(Conflict):
        sign(rpc, case.id, "O-EQ1", "party")


def test_a_party_objects_to_a_mediator_who_leaves_the_case_and_chooses_another(suite):
    rpc = suite.rpc
    case = open_case(rpc, [ME, {"kind": "person", "id": "O-EQ2"}])
    # No mediator yet: no agreement can be reached.
    with pytest.raises(Conflict):
        rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), outcome={
            "kind": "agreement", "form": "oral", "facts": "f", "oral_record": "r",
            "terms": [{"text": "t", "performer_id": "O-EQ1", "method": "m", "due_on": "2030-01-01"}]})
    first = rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["grid_member"],
                                           request_id=rid()).case.mediators[0].person_id
    answer = dict(case_id=case.id, person_id=first)
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.answer_mediator(actor="O-EQ2", answer="object", request_id=rid(), **answer)
    assert err.value.fields[0]["field"] == "reason"
    for outsider in ("NOBODY", "CW1", first):  # Art. 23 is the parties' right, not the staff's
        with pytest.raises(PermissionDenied):
            rpc.mediation.answer_mediator(actor=outsider, answer="object", reason="x", request_id=rid(), **answer)
    objected = rpc.mediation.answer_mediator(actor="O-EQ1", answer="object", reason="他是对方的亲戚 a relative",
                                             request_id=rid(), **answer).case
    assert objected.mediators == [] and objected.state == "open"
    assert [(a.party_id, a.person_id, a.answer) for a in objected.mediator_answers] == [("O-EQ1", first, "object")]
    # The objected mediator is never assigned to this case again: the other grid member comes, then none is left.
    second = rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["grid_member"],
                                            request_id=rid()).case.mediators[0].person_id
    assert second != first
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["grid_member"], request_id=rid())
    assert err.value.fields[0]["field"] == "kinds.0"
    rpc.mediation.answer_mediator(actor="O-EQ2", answer="accept", person_id=second, case_id=case.id,
                                  request_id=rid())
    with pytest.raises(ValidationFailed) as err:  # accepting someone who is not on the case
        rpc.mediation.answer_mediator(actor="O-EQ2", answer="accept", person_id="J1", case_id=case.id,
                                      request_id=rid())
    assert err.value.fields[0]["field"] == "person_id"
    # A party may choose a mediator: a person holding a mediator's role, not one objected to.
    chosen = rpc.mediation.answer_mediator(actor="O-EQ2", answer="choose", person_id="J2", case_id=case.id,
                                           request_id=rid()).case
    assert {(m.person_id, m.kind) for m in chosen.mediators} == {(second, "grid_member"), ("J2", "judge")}
    with pytest.raises(Conflict):
        rpc.mediation.answer_mediator(actor="O-EQ2", answer="choose", person_id=first, case_id=case.id,
                                      request_id=rid())
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.answer_mediator(actor="O-EQ2", answer="choose", person_id="O-M1", case_id=case.id,
                                      request_id=rid())
    assert err.value.fields[0]["field"] == "person_id"
    assert [r.kind for r in rpc.mediation.records(matter_id=case.id).items].count("mediator_answer") == 3


def test_a_case_is_referred_up_one_level_at_a_time_with_its_history(suite):
    rpc = suite.rpc
    case = open_case(rpc, [ME, {"kind": "person", "id": "O-EQ2"}])
    rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["grid_member"], request_id=rid())
    refer = dict(case_id=case.id, reason="网格调解不成 the grid could not settle it")
    with pytest.raises(PermissionDenied):  # a party asks; the mediator or a worker refers
        rpc.mediation.refer_case(actor="O-EQ1", scope_id="C1", request_id=rid(), **refer)
    with pytest.raises(ValidationFailed) as err:  # one level at a time
        rpc.mediation.refer_case(actor="CW1", scope_id="S", request_id=rid(), **refer)
    assert err.value.fields[0]["field"] == "scope_id"
    up = rpc.mediation.refer_case(actor="CW1", scope_id="C1", request_id=rid(), **refer).case
    assert (up.level, up.scope_id, up.state, up.mediators) == ("community", "C1", "open", [])
    up = rpc.mediation.refer_case(actor="CW1", scope_id="S", request_id=rid(), **refer).case
    with pytest.raises(PermissionDenied):  # a community worker's post does not cover the subdistrict
        rpc.mediation.refer_case(actor="CW1", scope_id="990001", request_id=rid(), **refer)
    rpc.mediation.assign_mediators(actor="P-SD", case_id=case.id, kinds=["judge"], request_id=rid())
    top = rpc.mediation.refer_case(actor="J1", scope_id="990001", request_id=rid(), **refer).case
    assert top.level == "district"
    assert [(r["level"], r["scope_id"]) for r in top.referrals] == [("grid", "G1"), ("community", "C1"),
                                                                    ("subdistrict", "S")]
    with pytest.raises(Conflict):
        rpc.mediation.refer_case(actor="CW1", scope_id="990001", request_id=rid(), **refer)
    stats = rpc.mediation.statistics()
    assert [s.level for s in stats.levels] == ["district"]
