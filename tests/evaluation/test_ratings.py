"""The star-rating workflow through the service (Hongkou rubric): order, permissions, thresholds,
explanations, the annual downgrade, negative events; then certificate expiry with a moving clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from redprop.contracts import evaluation as c
from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from redprop.services.evaluation import models as m
from redprop.services.evaluation import ratings
from redprop.services.evaluation.rubrics import HongkouRubric
from redprop.testing.events import bind, drain
from redprop.testing.suite import wait_for
from tests.evaluation.conftest import rid, start

pytestmark = pytest.mark.integration
SELF = {"organisation_id": "CO1", "person_id": "P9"}
PARTY = {"organisation_id": "PC1", "person_id": "P1"}
HOUSING = {"organisation_id": "DEP-HOUSING", "person_id": "H-OFFICER"}


def hongkou_scores(total: str) -> dict[str, str]:
    """Hongkou assessment scores adding up to ``total`` (at most 76, bonuses left out)."""
    left, out = Decimal(total), {}
    for item in HongkouRubric().items_from("assessment"):
        if not item.bonus:
            out[item.code] = min(left, item.max_points)
            left -= out[item.code]
    assert left == 0
    return {k: str(v) for k, v in out.items()}


def call(suite, op, **fields):
    return getattr(suite.rpc.evaluation, op)(request_id=rid(op), **fields)


def test_the_star_rating_workflow(run_suite, small_district):
    suite = start(run_suite, small_district, rubric="hongkou")
    events = bind(suite.settings, "evaluation")
    applied = call(suite, "apply", company_id="CO1", year=2025, actor=SELF, scores=hongkou_scores("75"),
                   comment="自评").rating
    step = applied.steps[0]
    # 75 assessed + 10 for hotline tickets (none in 2025: nothing to fault) + 0 (no scorecards) = exactly 85.
    assert (applied.state, step.step, step.total, step.stars, step.grade) == ("applied", "self_assessment",
                                                                             Decimal("85.00"), 4, "B")
    rating_id = applied.id
    with pytest.raises(Conflict):
        call(suite, "apply", company_id="CO1", year=2025, actor=SELF, scores=hongkou_scores("75"))
    with pytest.raises(Conflict, match="not been reviewed"):          # certifying before review
        call(suite, "certify", rating_id=rating_id, actor=HOUSING, scores=hongkou_scores("75"))
    with pytest.raises(PermissionDenied, match="own rating"):          # the company reviews itself
        call(suite, "review", rating_id=rating_id, actor=SELF, scores=hongkou_scores("75"))
    with pytest.raises(PermissionDenied, match="holds a post"):        # its manager, sitting on the party committee
        call(suite, "review", rating_id=rating_id, actor={"organisation_id": "PC1", "person_id": "P9"},
             scores=hongkou_scores("75"))
    with pytest.raises(PermissionDenied, match="community party committee"):
        call(suite, "review", rating_id=rating_id, actor=HOUSING, scores=hongkou_scores("75"))
    reviewed = call(suite, "review", rating_id=rating_id, actor=PARTY, scores=hongkou_scores("74"),
                    comment="基本属实").rating
    assert reviewed.state == "reviewed" and reviewed.steps[1].total == Decimal("84.00")
    with pytest.raises(Conflict):
        call(suite, "review", rating_id=rating_id, actor=PARTY, scores=hongkou_scores("74"))
    with pytest.raises(PermissionDenied, match="housing"):
        call(suite, "certify", rating_id=rating_id, actor={"organisation_id": "DEP-WATER", "person_id": "P3"},
             scores=hongkou_scores("75"))
    with pytest.raises(PermissionDenied):
        call(suite, "certify", rating_id=rating_id, actor={"organisation_id": "CO1", "person_id": "P9"},
             scores=hongkou_scores("75"))
    certified = call(suite, "certify", rating_id=rating_id, actor=HOUSING, scores=hongkou_scores("75")).rating
    cert = certified.certificate
    assert (certified.state, cert.stars, cert.status, cert.last_reviewed_year) == ("certified", 4, "active", 2025)
    assert cert.valid_until == cert.issued_on.replace(year=cert.issued_on.year + 3)
    assert [s.actor.organisation_id for s in certified.steps] == ["CO1", "PC1", "DEP-HOUSING"]

    explained = suite.rpc.evaluation.explain(rating_id=rating_id)
    ex = explained.explanation
    assert (explained.step, explained.seq, ex.rubric, ex.periods) == ("certification", 3, "hongkou",
                                                                     ["2025Q1", "2025Q2", "2025Q3", "2025Q4"])
    assert sum(i.points for i in ex.items) + sum(a.points for a in ex.adjustments) == ex.total == Decimal("85.00")
    assert {i.code: i.basis for i in ex.items}["committee_service"].startswith("no signed committee scorecard")
    assert suite.rpc.evaluation.explain(rating_id=rating_id, seq=2).explanation.total == Decimal("84.00")

    with pytest.raises(Conflict, match="active 4-star"):
        call(suite, "apply", company_id="CO1", year=2026, actor=SELF, scores=hongkou_scores("75"))
    with pytest.raises(ValidationFailed):                               # evidence of a year not started
        call(suite, "annual_review", rating_id=rating_id, year=2099, actor=HOUSING, scores=hongkou_scores("60"))
    with pytest.raises(Conflict):                                       # the same year again
        call(suite, "annual_review", rating_id=rating_id, year=2025, actor=HOUSING, scores=hongkou_scores("60"))
    down = call(suite, "annual_review", rating_id=rating_id, year=2026, actor=HOUSING, scores=hongkou_scores("64.99"),
                comment="整改不力").rating
    assert (down.certificate.stars, down.steps[-1].outcome, down.steps[-1].total) == (3, "downgraded", Decimal("74.99"))

    # A negative event: the certificate is revoked, and the company is not eligible again.
    reply = call(suite, "record_negative_event", company_id="CO1", kind="maintenance_fund_misuse",
                 occurred_on="2026-05-01", description="挪用维修资金", reported_by=HOUSING)
    assert reply.revoked_ratings == [rating_id] and reply.voided_ratings == []
    revoked = suite.rpc.evaluation.get_rating(rating_id=rating_id).rating
    assert revoked.certificate.status == "revoked" and "maintenance fund" in revoked.certificate.revoked_reason
    with pytest.raises(Conflict, match="not eligible"):
        call(suite, "apply", company_id="CO1", year=2026, actor=SELF, scores=hongkou_scores("75"))
    with pytest.raises(Conflict, match="revoked"):
        call(suite, "annual_review", rating_id=rating_id, year=2026, actor=HOUSING, scores=hongkou_scores("70"))

    # An application in progress is voided by a negative event.
    other = call(suite, "apply", company_id="CO2", year=2026, actor={"organisation_id": "CO2", "person_id": "P3"},
                 scores=hongkou_scores("70")).rating
    with pytest.raises(PermissionDenied):                               # a company cannot report on itself
        call(suite, "record_negative_event", company_id="CO2", kind="fraud", occurred_on="2026-06-01",
             description="虚报", reported_by={"organisation_id": "CO2", "person_id": "P3"})
    voided = call(suite, "record_negative_event", company_id="CO2", kind="fraud", occurred_on="2026-06-01",
                  description="虚报业绩", reported_by=HOUSING)
    assert voided.voided_ratings == [other.id]
    with pytest.raises(Conflict, match="void"):
        call(suite, "review", rating_id=other.id, actor=PARTY, scores=hongkou_scores("70"))

    published = []
    wait_for(lambda: published.extend(drain(suite.settings, events)) or len(published) >= 5, message="events")
    kinds = [(k, b.get("change") or b.get("stars") or b.get("kind")) for k, b in published]
    assert kinds == [("evaluation.rating_issued", 4), ("evaluation.rating_changed", "downgraded"),
                     ("evaluation.negative_event_recorded", "maintenance_fund_misuse"),
                     ("evaluation.rating_changed", "revoked"), ("evaluation.negative_event_recorded", "fraud")]
    assert suite.rpc.evaluation.rubric().grades[0].label == "A"


def test_rating_bad_input(suite):
    with pytest.raises(NotFound) as err:
        call(suite, "apply", company_id="NO-SUCH", year=2026, actor={"organisation_id": "NO-SUCH", "person_id": "P9"},
             scores={})
    assert err.value.details["field"] == "company_id"
    with pytest.raises(ValidationFailed):                               # not a property company
        call(suite, "apply", company_id="DEP-WATER", year=2026, actor={"organisation_id": "DEP-WATER", "person_id": "P9"},
             scores={})
    with pytest.raises(PermissionDenied):                               # someone else applying for the company
        call(suite, "apply", company_id="CO1", year=2026, actor=PARTY, scores={})
    with pytest.raises(ValidationFailed) as err:
        call(suite, "apply", company_id="CO1", year=2026, actor=SELF, scores={"org_party_branch": "11"})
    assert "scores.org_party_branch" in {f["field"] for f in err.value.fields}
    with pytest.raises(ValidationFailed):
        call(suite, "apply", company_id="CO1", year=1999, actor=SELF, scores={})
    with pytest.raises(ValidationFailed):
        call(suite, "record_negative_event", company_id="CO1", kind="fraud", occurred_on="2099-01-01",
             description="未来", reported_by=HOUSING)
    with pytest.raises(ValidationFailed):
        call(suite, "record_negative_event", company_id="CO1", kind="littering", occurred_on="2026-01-01",
             description="x", reported_by=HOUSING)
    with pytest.raises(NotFound):
        suite.rpc.evaluation.get_rating(rating_id="rt-nope")
    with pytest.raises(NotFound):
        suite.rpc.evaluation.explain(rating_id="rt-nope")
    assert suite.rpc.evaluation.list_ratings().total == 0


# -- with a moving clock, straight against the database -------------------------------------------------


@pytest.fixture
def session(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'ratings.sqlite3'}")
    m.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_certificates_expire_and_the_annual_review_revokes_below_three_stars(session):
    rubric, district = HongkouRubric(), "990001"
    at = lambda y, mo, d: datetime(y, mo, d, 4, 0, tzinfo=UTC)  # noqa: E731
    actor = c.Assessor(**SELF)
    rating_id = ratings.apply(session, district, rubric, c.ApplyRequest(
        request_id="r-000001", company_id="CO1", year=2025, actor=actor, scores=hongkou_scores("75")),
        at(2026, 2, 1), 365)
    row = ratings.load(session, district, rating_id)
    ratings.review(session, district, rubric, row, c.ReviewRequest(
        request_id="r-000002", rating_id=rating_id, actor=c.Assessor(**PARTY), scores=hongkou_scores("75")), at(2026, 2, 2))
    row = ratings.load(session, district, rating_id)
    ratings.certify(session, district, rubric, row, c.CertifyRequest(
        request_id="r-000003", rating_id=rating_id, actor=c.Assessor(**HOUSING), scores=hongkou_scores("75")),
        at(2026, 2, 3), validity_years=1)
    row = ratings.load(session, district, rating_id)
    assert (row.cert_stars, row.cert_valid_until) == (4, date(2027, 2, 3))
    assert ratings.view(session, district, row, date(2027, 2, 3)).certificate.status == "active"
    assert ratings.view(session, district, row, date(2027, 2, 4)).certificate.status == "expired"
    assert ratings.active_stars(session, district, date(2027, 2, 4)) == {}
    review = c.AnnualReviewRequest(request_id="r-000004", rating_id=rating_id, year=2026, actor=c.Assessor(**HOUSING),
                                   scores=hongkou_scores("59"))
    with pytest.raises(Conflict, match="expired"):
        ratings.annual_review(session, district, rubric, row, review, at(2027, 3, 1))
    change, stars, explanation = ratings.annual_review(session, district, rubric, row, review, at(2027, 1, 10))
    assert (change, stars, explanation.total, explanation.grade) == ("revoked", None, Decimal("69.00"), "D")
    row = ratings.load(session, district, rating_id)
    assert "below three stars" in ratings.view(session, district, row, date(2027, 1, 10)).certificate.revoked_reason
