"""Owners' consultations against the law at its boundaries, over the real broker, on SQLite and PostgreSQL:
heads by the SPC interpretation Art. 9 and areas by Art. 8, the rule bound to the Civil Code Art. 278 item,
and honest windows (nothing back-dated, no early close while the outcome is open, paper ballots witnessed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from redprop.errors import Conflict, PermissionDenied, ValidationFailed
from tests.mediation.mediation_helpers import (
    OPTIONS,
    ago,
    close_after,
    new_matter,
    paper,
    short_consultation,
    start,
)

pytestmark = pytest.mark.integration


def _household(hid, building, owners, area="100.00", **extra):
    record = {"kind": "household", "id": hid, "building_id": building, "unit": hid, "owner_ids": owners, **extra}
    if not any(k.endswith("_area_m2") for k in extra):
        record["area_m2"] = area
    return record


def law_complex() -> list[dict]:
    """Complex X9: building SEVEN (7 flats, MULTI owns 3: 5 persons), DEV (the developer's 3 unsold parts
    and 2 sold ones), NOCERT (no property certificates: survey and contract areas)."""
    records = [{"kind": "complex", "id": "X9", "name": "法律小区", "community_id": "C1"},
               {"kind": "grid", "id": "G9", "name": "第九网格", "community_id": "C1", "complex_id": "X9"}]
    for building in ("SEVEN", "DEV", "NOCERT"):
        records.append({"kind": "building", "id": building, "name": building, "complex_id": "X9", "grid_id": "G9",
                        "lat": 31.0, "lon": 121.0})
    households = [
        _household("S1", "SEVEN", ["MULTI"]), _household("S2", "SEVEN", ["MULTI"]),
        _household("S3", "SEVEN", ["MULTI"]), _household("S4", "SEVEN", ["O4"]),
        _household("S5", "SEVEN", ["O5"]), _household("S6", "SEVEN", ["O6"]), _household("S7", "SEVEN", ["O7"]),
        _household("D1", "DEV", ["DEVREP"], developer_unsold=True),
        _household("D2", "DEV", [], developer_unsold=True), _household("D3", "DEV", [], developer_unsold=True),
        _household("D4", "DEV", ["DA"]), _household("D5", "DEV", ["DB"]),
        _household("N1", "NOCERT", ["NA"], survey_area_m2="60.00", contract_area_m2="58.00"),
        _household("N2", "NOCERT", ["NB"], contract_area_m2="40.00"),
    ]
    people = sorted({o for h in households for o in h["owner_ids"]})
    return records + [{"kind": "person", "id": p, "name": p} for p in people] + households


@pytest.fixture
def rpc(run_suite, backend):
    suite = start(run_suite, backend)
    report = suite.rpc.registry.upsert(actor="P-DATA", records=law_complex(), request_id="load-law-complex")
    assert report.applied and not report.errors, report.errors
    return suite.rpc


def x9_matter(rpc) -> str:
    return rpc.mediation.open_matter(actor="STAFF", title="维修资金 maintenance fund", topic="fund", complex_id="X9",
                                     parties=["party_branch", "property_company", "owners_committee"],
                                     request_id=uuid.uuid4().hex).matter.id


def test_a_multi_flat_owner_is_one_person(rpc):
    matter = x9_matter(rpc)
    cons = short_consultation(rpc, matter, ["SEVEN"], item=5, complex_id="X9")
    assert cons.total_owners == 5 and cons.electorate_households == 7
    # MULTI votes through one flat, then changes their mind through another: one person, one ballot.
    first = paper(rpc, cons, "S1", "MULTI", option="disagree")
    second = paper(rpc, cons, "S3", "MULTI")
    assert second.supersedes == first.ballot.id and second.ballot.person_id == "MULTI"
    paper(rpc, cons, "S4", "O4")
    paper(rpc, cons, "S5", "O5")
    result = close_after(rpc, cons, complex_id="X9")
    # Per flat 5/7 would take part (>= 2/3); the law counts 3 of 5 persons: short of 2/3.
    assert result.participation_by_area.ratio == "5/7"
    assert result.participation_by_headcount.ratio == "3/5"
    assert not result.passed and result.decided_by == "participation_by_headcount"
    assert result.options["agree"] == {"persons": "3", "households": "5", "area_m2": "500.00"}
    assert result.superseded_ballots == 1 and "Art. 9" in result.counted_as


def test_the_developers_unsold_parts_are_one_person(rpc):
    matter = x9_matter(rpc)
    cons = short_consultation(rpc, matter, ["DEV"], item=4, complex_id="X9")
    assert cons.total_owners == 3  # the developer, DA, DB
    # The developer's representative votes through a part with no owner listed: it is the developer's person.
    paper(rpc, cons, "D2", "DEVREP")
    with pytest.raises(PermissionDenied) as err:
        paper(rpc, cons, "D3", "DA")  # DA owns D4, not the developer's parts
    assert err.value.details["field"] == "owner_id"
    paper(rpc, cons, "D4", "DA", option="disagree")
    result = close_after(rpc, cons, complex_id="X9")
    assert (result.participating_owners, str(result.participating_area_m2)) == (2, "400.00")
    assert result.approval_by_headcount.ratio == "1/2"  # exactly half of the persons: not more than half
    assert result.approval_by_area.ratio == "3/4"
    assert not result.passed and result.decided_by == "approval_by_headcount"


def test_areas_from_the_survey_and_the_contract(rpc):
    matter = x9_matter(rpc)
    cons = short_consultation(rpc, matter, ["NOCERT"], item=2, complex_id="X9")
    assert str(cons.total_area_m2) == "100.00"  # 60 surveyed + 40 from the contract
    paper(rpc, cons, "N1", "NA")
    paper(rpc, cons, "N2", "NB")
    result = close_after(rpc, cons, complex_id="X9")
    assert result.passed
    assert {k: str(v) for k, v in result.area_by_source.items()} == {"survey": "60.00", "contract": "40.00"}


def test_the_matter_decides_the_rule(rpc):
    matter = new_matter(rpc)
    base = dict(actor="STAFF", matter_id=matter, question="补充维修资金? Replenish the fund?", approve_option="agree",
                options=OPTIONS, closes_at=ago(days=-7), complex_id="X1")
    with pytest.raises(ValidationFailed) as err:  # item 6 needs 3/4: the ordinary rule is weaker
        rpc.mediation.open_consultation(**base, art278_item=6, rule="art278_ordinary")
    assert err.value.fields[0]["field"] == "rule" and "item 6" in err.value.fields[0]["message"]
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.open_consultation(**base, art278_item=10)
    assert err.value.fields[0]["field"] == "art278_item"
    with pytest.raises(ValidationFailed) as err:
        rpc.mediation.open_consultation(**{k: v for k, v in base.items() if k != "actor"}, art278_item=5)
    assert err.value.fields[0]["field"] == "actor"
    major = rpc.mediation.open_consultation(**base, art278_item=7).consultation
    assert (major.rule, major.art278_item) == ("art278_major", 7)
    fund_use = rpc.mediation.open_consultation(**base, art278_item=5).consultation
    assert fund_use.rule == "art278_ordinary"
    stricter = rpc.mediation.open_consultation(**base, art278_item=5, rule="art278_major").consultation
    assert stricter.rule == "art278_major"
    with pytest.raises(ValidationFailed) as err:  # the matter is of X1
        rpc.mediation.open_consultation(**{**base, "complex_id": "X9"}, art278_item=5)
    assert err.value.fields[0]["field"] == "complex_id"


def test_exactly_half_fails_an_ordinary_item(rpc):
    matter = new_matter(rpc)
    cons = short_consultation(rpc, matter, ["MAJ"], item=4)
    for hid, owner, option in (("MJ-1", "O-M1", "agree"), ("MJ-2", "O-M2", "agree"),
                               ("MJ-3", "O-M3", "disagree"), ("MJ-4", "O-M4", "disagree")):
        paper(rpc, cons, hid, owner, option=option)
    result = close_after(rpc, cons)
    assert result.approval_by_area.ratio == "1/2" and result.approval_by_headcount.ratio == "1/2"
    assert not result.passed and result.decided_by == "approval_by_area"


def test_no_back_dated_window_or_ballot(rpc):
    matter = new_matter(rpc)
    base = dict(actor="STAFF", matter_id=matter, art278_item=4, question="q", approve_option="agree", options=OPTIONS,
                complex_id="X1", building_ids=["EQ"])
    with pytest.raises(ValidationFailed) as err:  # a window entirely in the past
        rpc.mediation.open_consultation(**base, opens_at=ago(days=10), closes_at=ago(days=3))
    assert err.value.fields[0]["field"] == "opens_at"
    with pytest.raises(ValidationFailed) as err:  # opening an hour ago
        rpc.mediation.open_consultation(**base, opens_at=ago(hours=1), closes_at=ago(days=-1))
    assert err.value.fields[0]["field"] == "opens_at"
    with pytest.raises(ValidationFailed) as err:  # left to open now, but closing before that
        rpc.mediation.open_consultation(**base, closes_at=ago(minutes=1))
    assert err.value.fields[0]["field"] == "closes_at"
    cons = rpc.mediation.open_consultation(**base, opens_at=ago(minutes=1), closes_at=ago(days=-1)).consultation
    assert cons.opens_at > ago(minutes=2)  # within the clock-skew allowance

    with pytest.raises(ValidationFailed) as err:  # an online ballot dated yesterday
        rpc.mediation.cast_ballot(actor="O-EQ1", consultation_id=cons.id, household_id="EQ-1", owner_id="O-EQ1",
                                  option="agree", cast_at=ago(days=1))
    assert err.value.fields[0]["field"] == "cast_at"
    with pytest.raises(Conflict) as err:  # a paper ballot "collected" before the consultation opened
        paper(rpc, cons, "EQ-1", "O-EQ1", cast_at=cons.opens_at - timedelta(hours=2))
    assert err.value.details["field"] == "cast_at"
    with pytest.raises(PermissionDenied) as err:  # someone else's online ballot
        rpc.mediation.cast_ballot(actor="O-EQ2", consultation_id=cons.id, household_id="EQ-1", owner_id="O-EQ1",
                                  option="agree")
    assert err.value.details["field"] == "actor"
    online = rpc.mediation.cast_ballot(actor="O-EQ1", consultation_id=cons.id, household_id="EQ-1", owner_id="O-EQ1",
                                       option="agree").ballot
    assert online.channel == "online" and online.cast_at >= cons.opens_at
    assert rpc.mediation.ballots(consultation_id=cons.id).total == 1  # nothing of the refused ones was written


def test_a_paper_ballot_needs_a_witness(rpc):
    matter = new_matter(rpc)
    cons = short_consultation(rpc, matter, ["EQ"], seconds=60)
    with pytest.raises(ValidationFailed) as err:
        paper(rpc, cons, "EQ-1", "O-EQ1", witness_id=None)
    assert err.value.fields[0]["field"] == "witness_id"
    for witness in ("STAFF", "O-EQ1"):  # neither the worker nor the owner witnesses it
        with pytest.raises(ValidationFailed) as err:
            paper(rpc, cons, "EQ-1", "O-EQ1", witness_id=witness)
        assert err.value.fields[0]["field"] == "witness_id"
    with pytest.raises(PermissionDenied) as err:  # entered in another worker's name
        paper(rpc, cons, "EQ-1", "O-EQ1", actor="P-CW")
    assert err.value.details["field"] == "entered_by"
    with pytest.raises(PermissionDenied) as err:  # a grid member of G1 is no worker of complex X1 as a whole
        paper(rpc, cons, "EQ-1", "O-EQ1", actor="GM1", entered_by="GM1")
    assert err.value.details["field"] == "actor" and err.value.details["check"] == "scope"
    with pytest.raises(PermissionDenied) as err:  # an owner enters no paper ballots
        paper(rpc, cons, "EQ-1", "O-EQ1", actor="O-EQ2", entered_by="O-EQ2")
    assert err.value.details["field"] == "actor"
    meeting = paper(rpc, cons, "EQ-1", "O-EQ1", channel="meeting").ballot
    assert (meeting.channel, meeting.witness_id) == ("meeting", "WIT")
    assert rpc.mediation.tally(consultation_id=cons.id).result.ballots_by_channel == {"meeting": 1}


def test_no_early_close_unless_the_outcome_is_decided(rpc):
    matter = new_matter(rpc)

    def close_now(cons, **extra):
        return rpc.mediation.close_consultation(actor="STAFF", consultation_id=cons.id, complex_id="X1",
                                                request_id=uuid.uuid4().hex, **extra).consultation

    # Ordinary item, 4 persons. Two approve: the other two could still disagree -> not decided.
    ordinary = short_consultation(rpc, matter, ["MAJ"], item=4, seconds=3600)
    paper(rpc, ordinary, "MJ-1", "O-M1")
    paper(rpc, ordinary, "MJ-2", "O-M2")
    with pytest.raises(Conflict, match="not yet decided") as err:
        close_now(ordinary)
    assert err.value.details["field"] == "at"
    paper(rpc, ordinary, "MJ-3", "O-M3")  # still open after the refusal; now 3 of 4 approve
    with pytest.raises(ValidationFailed) as err:  # nor is a closing back-dated
        close_now(ordinary, at=ago(hours=1))
    assert err.value.fields[0]["field"] == "at"
    with pytest.raises(ValidationFailed) as err:  # the permit's complex must be the consultation's
        rpc.mediation.close_consultation(actor="STAFF", consultation_id=ordinary.id, complex_id="X9",
                                         request_id=uuid.uuid4().hex)
    assert err.value.fields[0]["field"] == "complex_id"
    closed = close_now(ordinary)  # even if MJ-4 disagreed: 4/4 take part, 3/4 > 1/2 approve: decided
    assert closed.state == "closed" and closed.result.passed and closed.result.closed_early
    assert closed.closed_at < ordinary.closes_at

    # Major item: two of four disagree; even if the rest approve, 2/4 < 3/4 -> decided, it fails.
    major = short_consultation(rpc, matter, ["MAJ"], item=6, seconds=3600)
    paper(rpc, major, "MJ-1", "O-M1", option="disagree")
    with pytest.raises(Conflict, match="not yet decided"):
        close_now(major)
    paper(rpc, major, "MJ-2", "O-M2", option="disagree")
    failed = close_now(major).result
    assert not failed.passed and failed.closed_early
    assert rpc.mediation.verify(matter_id=matter).ok


def test_closing_at_the_end_of_the_window_is_not_early(rpc):
    matter = new_matter(rpc)
    cons = short_consultation(rpc, matter, ["EQ"], item=1, seconds=3)  # a loaded machine takes over a second to deliver the request
    result = close_after(rpc, cons)
    assert not result.closed_early and not result.passed and result.participating_owners == 0
    assert datetime.now(UTC) >= cons.closes_at
