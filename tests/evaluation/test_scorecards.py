"""Quarterly scorecards: committee members submit and sign; a quarter locks; corrections are versions;
and the league table built from scorecards and ticket KPIs, with the standings published at closing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from redprop.contracts.evaluation import PeriodClosed
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from redprop.services.evaluation.periods import period_of, shift
from redprop.testing.events import bind, drain
from redprop.testing.suite import wait_for
from tests.evaluation.conftest import COMPANY, MEMBERS, RED_SCORECARD, RESIDENT, act, rid, submit

pytestmark = pytest.mark.integration
NOW = period_of(datetime.now(UTC))


def submit_card(suite, **fields):
    body = {"complex_id": "X1", "committee_id": "OC1", "period": NOW, "submitted_by": MEMBERS[0],
            "scores": RED_SCORECARD, "request_id": rid("card"), **fields}
    return suite.rpc.evaluation.submit_scorecard(**body).scorecard


def sign(suite, card_id, person, **fields):
    return suite.rpc.evaluation.sign_scorecard(scorecard_id=card_id, person_id=person, request_id=rid("sign"),
                                               **fields).scorecard


def test_scorecards_are_signed_locked_and_corrected_by_new_versions(suite):
    events = bind(suite.settings, "evaluation")
    card = submit_card(suite, comment="保洁有进步")
    assert (card.company_id, card.members, card.signatures_needed, card.status) == ("CO1", 5, 3, "open")
    assert card.versions[0].total == Decimal("24.50") and card.effective_version is None
    with pytest.raises(Conflict):                                   # one scorecard per complex and quarter
        submit_card(suite)
    sign(suite, card.id, MEMBERS[0])
    with pytest.raises(Conflict):                                   # nobody signs twice
        sign(suite, card.id, MEMBERS[0])
    with pytest.raises(PermissionDenied):                           # not on the committee
        sign(suite, card.id, "P2")
    sign(suite, card.id, MEMBERS[1])
    card = sign(suite, card.id, MEMBERS[2])
    assert card.effective_version == 1 and card.versions[0].signed

    fixed = suite.rpc.evaluation.correct_scorecard(
        scorecard_id=card.id, corrected_by=MEMBERS[1], reason="安保分数录错", request_id=rid("fix"),
        scores={**RED_SCORECARD, "daily_security_facilities": "6"}).scorecard
    assert (fixed.current_version, fixed.effective_version) == (2, 1)   # v2 counts once signed
    assert fixed.versions[1].reason == "安保分数录错" and fixed.versions[0].scores["daily_security_facilities"] == 9
    with pytest.raises(Conflict):                                   # signing the outdated version
        sign(suite, card.id, MEMBERS[3], version=1)
    sign(suite, card.id, MEMBERS[3])

    closed = suite.rpc.evaluation.close_period(period=NOW, closed_by="DEP-HOUSING", actor="P-HO", request_id=rid("close"))
    assert closed.locked_scorecards == 1
    assert [(s.company_id, s.rank) for s in closed.standings] == [("CO1", 1)]
    card = suite.rpc.evaluation.get_scorecard(scorecard_id=card.id).scorecard
    assert card.status == "locked"
    with pytest.raises(Conflict, match="locked"):                   # v2 was recorded before the lock
        sign(suite, card.id, MEMBERS[4])
    with pytest.raises(Conflict, match="closed"):
        submit_card(suite)
    with pytest.raises(PermissionDenied) as elsewhere:              # X1's committee scoring another complex
        submit_card(suite, complex_id="X3", committee_id="OC1")
    assert elsewhere.value.details["check"] == "scope"
    with pytest.raises(Conflict):
        suite.rpc.evaluation.close_period(period=NOW, closed_by="DEP-HOUSING", actor="P-HO", request_id=rid("close"))
    late = suite.rpc.evaluation.correct_scorecard(
        scorecard_id=card.id, corrected_by=MEMBERS[0], reason="复核后更正", request_id=rid("fix"),
        scores={**RED_SCORECARD, "daily_security_facilities": "7"}).scorecard
    for person in MEMBERS[:3]:
        late = sign(suite, card.id, person)
    assert (late.current_version, late.effective_version) == (3, 3)
    explained = suite.rpc.evaluation.company_score(company_id="CO1", period=NOW).explanation
    assert explained.scorecards == [{"id": card.id, "complex_id": "X1", "period": NOW, "version": 3}]
    assert next(i.points for i in explained.items if i.code == "daily_security_facilities") == Decimal("7.00")

    published = []
    wait_for(lambda: published.extend(drain(suite.settings, events)) or published, message="period_closed")
    key, body = published[0]
    assert key == PeriodClosed.event_type
    assert PeriodClosed.model_validate(body).standings[0].company_id == "CO1"


def test_scorecard_bad_input(suite):
    with pytest.raises(Conflict, match="closed"):                   # last quarter closed after its grace period
        submit_card(suite, period=shift(NOW, -1))
    with pytest.raises(ValidationFailed) as err:
        submit_card(suite, period=shift(NOW, 1))
    assert err.value.fields[0]["field"] == "period"
    with pytest.raises(ValidationFailed) as err:
        submit_card(suite, scores={**RED_SCORECARD, "daily_cleaning_greening": "10.5"})
    assert err.value.fields == [{"field": "scores.daily_cleaning_greening", "type": "out_of_range",
                                 "message": "at most 10 points"}]
    with pytest.raises(ValidationFailed):                           # beyond any rubric's range
        submit_card(suite, scores={**RED_SCORECARD, "daily_cleaning_greening": "-1"})
    with pytest.raises(ValidationFailed):
        submit_card(suite, scores={"daily_cleaning_greening": "5"})
    with pytest.raises(NotFound) as nf:
        submit_card(suite, complex_id="NO-SUCH")
    assert nf.value.details["field"] == "complex_id"
    with pytest.raises(NotFound):                                   # a three-no complex: no company to score
        submit_card(suite, complex_id="X2", committee_id="SMC2", submitted_by="P1")
    with pytest.raises(ValidationFailed) as err:                    # X2's committee is not X1's
        submit_card(suite, committee_id="SMC2")
    assert err.value.fields[0]["field"] == "committee_id"
    with pytest.raises(PermissionDenied):
        submit_card(suite, submitted_by="P2")
    with pytest.raises(NotFound):
        suite.rpc.evaluation.get_scorecard(scorecard_id="sc-nope")
    assert suite.rpc.evaluation.list_scorecards().total == 0        # nothing half-written


def test_league_table_ranks_companies_with_trend(suite):
    good = submit(suite)
    act(suite, "accept", good.id, COMPANY)
    act(suite, "resolve", good.id, COMPANY, summary="修好了")
    act(suite, "rate", good.id, RESIDENT, rating=5)
    slow = submit(suite, building_id="B3", description="三楼漏水")      # CO2 never answers
    card = submit_card(suite)
    for person in MEMBERS[:3]:
        sign(suite, card.id, person)
    wait_for(lambda: suite.rpc.evaluation.kpis(scope="company", id="CO2").rows, message="CO2's KPIs")
    wait_for(lambda: (suite.rpc.evaluation.kpis(scope="company", id="CO1").rows or [None])[0] is not None
             and suite.rpc.evaluation.kpis(scope="company", id="CO1").rows[0].rated == 1, message="CO1 rated")
    table = suite.rpc.evaluation.league_table(periods=3)
    assert table.periods == [shift(NOW, -2), shift(NOW, -1), NOW] and table.rubric == "red_property"
    rows = {r.company_id: r for r in table.rows}
    assert [r.company_id for r in table.rows] == ["CO1", "CO2"]
    assert (rows["CO1"].rank, rows["CO2"].rank) == (1, 2)
    # CO1: 25 KPI points + 24.50 scorecard points of 53; CO2: one unanswered ticket, no scorecard.
    assert rows["CO1"].index == Decimal("93.40")
    # CO2: response 0/1, resolution 0/1; nothing rated or resolved to fault (6 + 4); not reopened (3): 13 / 53.
    assert rows["CO2"].index == Decimal("24.53")
    assert [p.index for p in rows["CO1"].trend[:2]] == [None, None] and rows["CO1"].change is None
    assert rows["CO2"].trend[-1].tickets == 1 and slow.status == "dispatched"
