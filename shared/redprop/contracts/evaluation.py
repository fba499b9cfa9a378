"""Contract of the evaluation service: scorecards, ticket KPIs, star ratings, rubrics and league tables.

- **KPIs** come from ticketing's events (no RPC back): per company and per complex and per quarter
  (Asia/Shanghai quarters of the ticket's ``submitted_at``, written ``2026Q3``). Counts are exact
  integers; rates are ``Decimal`` fractions 0..1 with 4 places (None when there is nothing to count).
- **Scorecards**: a committee of a complex (owners', self-management or property-management committee)
  scores the complex's property company every quarter against the rubric's ``scorecard`` items. A
  version is signed by committee members; it counts once a majority of the committee signed it. A
  quarter is locked when it closes (its end plus a grace period, or ``close_period``): no new
  scorecards then, only corrections, and a correction is always a new recorded version.
- **Star rating** (third-party star standard): self-assessment and application by the company ->
  review by the community party committee -> certification by the housing department; then an annual
  dynamic review. 3 stars for a total in [70, 85), 4 in [85, 95), 5 from 95. A company never reviews
  or certifies itself. A listed negative event voids eligibility and revokes a certificate.
- **Rubrics** are plugins (``plugins: {"evaluation.rubric": "red_property" | "hongkou"}``).
- Points are ``Decimal`` with 2 places on the wire; totals are exact sums of the item points shown.
- **City league table** (since 1.1, the city release, ``services.evaluation.options.role: city``): the
  city's instance keeps every district's ``period_closed`` standings (federated to the city vhost; the
  newest per district and period wins) and ranks the companies of all districts together, keyed by
  district + company id. Companies rated under different rubrics are ranked only within their rubric:
  the reply groups by rubric. A district's instance refuses ``city_league_table`` (``conflict``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from redprop.contracts.base import (
    CommandRequest,
    Contract,
    DistrictCode,
    Event,
    Id,
    Page,
    Permit,
    Record,
    Reply,
    Request,
    ServiceContract,
    Text,
    Timestamp,
)
from redprop.contracts.registry import COMMITTEE_ROLES, PARTY_COMMITTEE_ROLES

CONTRACT = ServiceContract(
    service="evaluation",
    version="1.2",
    summary="Quarterly committee scorecards, ticket KPIs, the star-rating workflow, rubrics, league tables.",
)

#: A quarter, Asia/Shanghai: ``2026Q3``.
Period = Annotated[str, Field(pattern=r"^20[0-9]{2}Q[1-4]$")]
#: The last quarter of a window of up to 40 (``periods``): 2010Q1 or later, so that the window's first
#: quarter is still a Period (2000Q1 or later) and a request is refused with the field named, not failed.
UntilPeriod = Annotated[str, Field(pattern=r"^20[1-9][0-9]Q[1-4]$")]
Points = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
ItemCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
Scores = Annotated[dict[ItemCode, Points], Field(max_length=100)]
Year = Annotated[int, Field(ge=2000, le=2100)]
Scope = Literal["company", "complex"]
ItemSource = Literal["scorecard", "kpi", "assessment"]
NegativeKind = Literal["major_safety_accident", "maintenance_fund_misuse", "fraud"]
StepKind = Literal["self_assessment", "review", "certification", "annual_review"]
RatingState = Literal["applied", "reviewed", "certified", "refused", "void"]
CertificateStatus = Literal["active", "expired", "revoked"]
RatingChange = Literal["confirmed", "upgraded", "downgraded", "revoked"]


class Assessor(Contract):
    """Who acts in the rating workflow: an organisation, and the person acting for it."""

    organisation_id: Id
    person_id: Id


# -- rubrics -------------------------------------------------------------------------------------------


class RubricAspect(Contract):
    code: str
    title: str
    points: Decimal


class RubricItem(Contract):
    code: str
    aspect: str
    title: str
    max_points: Decimal
    #: Where the points come from: committee scorecards, ticket KPIs, or the assessors of the workflow.
    source: ItemSource
    bonus: bool = False


class Band(Contract):
    label: str
    min_total: Decimal


class RubricInfo(Reply):
    name: str
    title: str
    version: str
    aspects: list[RubricAspect]
    items: list[RubricItem]
    bonus_cap: Decimal
    #: The rubric's own grades (best first), if it has any (Hongkou: A/B/C/D).
    grades: list[Band]
    #: The star standard (best first).
    stars: list[Band]


class RubricRequest(Request):
    pass


# -- KPIs ----------------------------------------------------------------------------------------------


class Kpi(Contract):
    scope: Scope
    scope_id: Id
    name: str | None = None
    period: Period
    tickets: int
    responded: int
    responded_on_time: int
    resolved: int
    resolved_on_time: int
    rated: int
    satisfied: int
    rating_sum: int
    reopened: int
    #: responded on time / tickets
    response_rate: Decimal | None
    #: resolved / tickets
    resolution_rate: Decimal | None
    #: ratings of 4 or 5 / ratings
    satisfaction_rate: Decimal | None
    #: resolved by the deadline / resolved
    on_time_rate: Decimal | None
    #: tickets reopened at least once / tickets
    reopen_rate: Decimal | None
    mean_rating: Decimal | None
    updated_at: Timestamp | None = None


class KpiRequest(Request):
    scope: Scope
    id: Id
    periods: list[Period] | None = Field(default=None, max_length=40)


class KpiReply(Reply):
    rows: list[Kpi]
    #: When the newest ticket event counted here happened (freshness).
    last_event_at: Timestamp | None = None


class KpiTicketRequest(Request):
    ticket_id: Id


class KpiTicket(Contract):
    """How one ticket counts, from the latest facts seen (for explanations and audits)."""

    ticket_id: Id
    company_id: Id | None
    complex_id: Id | None
    period: Period
    status: str
    counted: bool
    responded_on_time: bool
    resolved: bool
    resolved_on_time: bool
    rating: int | None
    reopened: bool
    events_seen: int
    last_event_at: Timestamp


class KpiTicketReply(Reply):
    ticket: KpiTicket


# -- scorecards ----------------------------------------------------------------------------------------


class Signature(Contract):
    person_id: Id
    signed_at: Timestamp


class ScorecardVersion(Contract):
    version: int
    scores: dict[str, Decimal]
    total: Decimal
    comment: str | None = None
    #: Why this version corrects the one before (None for the first).
    reason: str | None = None
    submitted_by: Id
    submitted_at: Timestamp
    signatures: list[Signature]
    #: Signed by a majority of the committee: this version counts.
    signed: bool


class Scorecard(Record):
    id: Id
    complex_id: Id
    company_id: Id
    committee_id: Id
    period: Period
    #: ``locked`` once the quarter closed: only corrections (new versions) from then on.
    status: Literal["open", "locked"]
    members: int
    signatures_needed: int
    current_version: int
    #: The newest signed version: the one ratings and league tables use (None: none signed yet).
    effective_version: int | None
    versions: list[ScorecardVersion]


class ScorecardReply(Reply):
    scorecard: Scorecard


class SubmitScorecardRequest(CommandRequest):
    complex_id: Id
    committee_id: Id
    period: Period
    #: A member of the committee.
    submitted_by: Id
    scores: Scores
    comment: Text | None = None


class SignScorecardRequest(CommandRequest):
    scorecard_id: Id
    person_id: Id
    #: The version being signed (default: the current one); signing an outdated version is a conflict.
    version: int | None = Field(default=None, ge=1)


class CorrectScorecardRequest(CommandRequest):
    scorecard_id: Id
    corrected_by: Id
    scores: Scores
    reason: Text = Field(min_length=2)


class GetScorecardRequest(Request):
    scorecard_id: Id


class ListScorecardsRequest(Page):
    period: Period | None = None
    complex_id: Id | None = None
    company_id: Id | None = None


class ScorecardList(Reply):
    scorecards: list[Scorecard]
    total: int


class ClosePeriodRequest(CommandRequest):
    period: Period
    #: The housing or district officer closing it (since 1.2).
    actor: Id
    #: The district organisation closing it (its housing department or street office).
    closed_by: Id


class Standing(Contract):
    """One company's place in a period's league table (what a city release aggregates)."""

    company_id: Id
    name: str | None = None
    index: Decimal | None
    rank: int | None
    tickets: int
    complexes: int
    #: Since 1.1: the company's active star certificate when the period closed (None: none, or a 1.0 district).
    stars: int | None = None


class PeriodReply(Reply):
    period: Period
    closed_at: Timestamp
    closed_by: Id
    locked_scorecards: int
    standings: list[Standing]


# -- explanations --------------------------------------------------------------------------------------


class ItemScore(Contract):
    code: str
    aspect: str
    source: ItemSource
    max_points: Decimal
    points: Decimal
    bonus: bool = False
    #: A sentence saying how the points were reached.
    basis: str
    #: What went in: KPI counts, scorecard ids and versions, assessor scores.
    inputs: dict = Field(default_factory=dict)


class Adjustment(Contract):
    kind: Literal["bonus_cap", "total_cap", "veto"]
    points: Decimal
    reason: str


class Explanation(Contract):
    rubric: str
    rubric_version: str
    periods: list[Period]
    items: list[ItemScore]
    adjustments: list[Adjustment]
    total: Decimal
    stars: int | None
    grade: str | None = None
    #: Scorecards used (id, complex, period, version) and KPI rows used.
    scorecards: list[dict]
    kpis: list[Kpi]


class CompanyScoreRequest(Request):
    company_id: Id
    period: Period


class CompanyScoreReply(Reply):
    """The quarter's evidence index: scorecard and KPI items only, scaled to 100."""

    company_id: Id
    period: Period
    index: Decimal | None
    evidence_points: Decimal
    evidence_max: Decimal
    explanation: Explanation


# -- the star rating -----------------------------------------------------------------------------------


class Step(Contract):
    seq: int
    step: StepKind
    actor: Assessor
    year: int
    scores: dict[str, Decimal]
    comment: str | None = None
    total: Decimal
    stars: int | None
    grade: str | None = None
    outcome: str
    at: Timestamp


class Certificate(Contract):
    stars: int
    issued_on: date
    valid_until: date
    status: CertificateStatus
    revoked_reason: str | None = None
    last_reviewed_year: int


class Rating(Record):
    id: Id
    company_id: Id
    year: int
    rubric: str
    state: RatingState
    void_reason: str | None = None
    steps: list[Step]
    certificate: Certificate | None = None


class RatingReply(Reply):
    rating: Rating


class ApplyRequest(CommandRequest):
    """The company's self-assessment and application, on the evidence of ``year``'s quarters."""

    company_id: Id
    year: Year
    actor: Assessor
    scores: Scores
    comment: Text | None = None


class ReviewRequest(CommandRequest):
    """The community party committee's review."""

    rating_id: Id
    actor: Assessor
    scores: Scores
    comment: Text | None = None
    recommend: bool = True


class CertifyRequest(CommandRequest):
    """The housing department's re-check and certification."""

    rating_id: Id
    actor: Assessor
    scores: Scores
    comment: Text | None = None


class AnnualReviewRequest(CommandRequest):
    """The housing department's annual dynamic review of a certificate, on ``year``'s evidence."""

    rating_id: Id
    year: Year
    actor: Assessor
    scores: Scores
    comment: Text | None = None


class GetRatingRequest(Request):
    rating_id: Id


class ListRatingsRequest(Page):
    company_id: Id | None = None
    state: RatingState | None = None


class RatingList(Reply):
    ratings: list[Rating]
    total: int


class ExplainRequest(Request):
    rating_id: Id
    #: The step to explain (default: the last).
    seq: int | None = Field(default=None, ge=1)


class ExplainReply(Reply):
    rating_id: Id
    seq: int
    step: StepKind
    explanation: Explanation


class NegativeEventRequest(CommandRequest):
    company_id: Id
    kind: NegativeKind
    occurred_on: date
    description: Text = Field(min_length=2)
    reported_by: Assessor


class NegativeEvent(Contract):
    id: Id
    company_id: Id
    kind: NegativeKind
    occurred_on: date
    description: str
    reported_by: Assessor
    recorded_at: Timestamp


class NegativeEventReply(Reply):
    event: NegativeEvent
    voided_ratings: list[Id]
    revoked_ratings: list[Id]


# -- league tables -------------------------------------------------------------------------------------


class PeriodScore(Contract):
    period: Period
    index: Decimal | None
    rank: int | None
    tickets: int


class LeagueRow(Contract):
    company_id: Id
    name: str | None = None
    rank: int | None
    index: Decimal | None
    #: Change of the index since the period before (None if either is missing).
    change: Decimal | None
    rank_change: int | None
    stars: int | None
    trend: list[PeriodScore]


class LeagueTableRequest(Request):
    #: The last period shown (default: the current quarter).
    until: UntilPeriod | None = None
    periods: int = Field(default=4, ge=1, le=40)
    limit: int = Field(default=100, ge=1, le=5000)


class LeagueTableReply(Reply):
    district: DistrictCode
    rubric: str
    rubric_version: str
    periods: list[Period]
    rows: list[LeagueRow]
    best_movers: list[Id]
    worst_movers: list[Id]


class PeriodKpi(Contract):
    """The district's ticket KPIs in one quarter: the sums over its property companies."""

    period: Period
    #: Companies with at least one ticket counted in the quarter.
    companies: int
    tickets: int
    rated: int
    response_rate: Decimal | None
    resolution_rate: Decimal | None
    satisfaction_rate: Decimal | None
    on_time_rate: Decimal | None
    reopen_rate: Decimal | None
    mean_rating: Decimal | None


class StarCount(Contract):
    stars: int
    companies: int


class DistrictSummaryRequest(Request):
    #: The last period shown (default: the current quarter).
    until: UntilPeriod | None = None
    periods: int = Field(default=4, ge=1, le=40)


class DistrictSummaryReply(Reply):
    """What a district report needs beside the league table: KPI trends and the star distribution."""

    district: DistrictCode
    periods: list[Period]
    #: One row per period, oldest first (periods without tickets have zero counts and no rates).
    kpis: list[PeriodKpi]
    #: Active certificates per star level (3, 4, 5; zero counts included), best first.
    stars: list[StarCount]
    #: Companies with evidence (tickets or signed scorecards) in the periods or an active certificate.
    companies: int
    last_event_at: Timestamp | None = None


# -- the city league table (since 1.1, the city release) ----------------------------------------------


class CompanyKey(Contract):
    """A company city-wide: ids are only unique within their district."""

    district: DistrictCode
    company_id: Id


class CityPeriodScore(Contract):
    period: Period
    index: Decimal | None
    #: Rank among every company of every district rated under the same rubric in that period.
    rank: int | None
    #: Rank within its own district, as the district published it.
    district_rank: int | None
    tickets: int


class CityLeagueRow(Contract):
    district: DistrictCode
    company_id: Id
    name: str | None = None
    #: City-wide rank within the rubric in the last period shown (None: no standing there).
    rank: int | None
    district_rank: int | None
    index: Decimal | None
    #: Change of the index since the period before (None if either is missing).
    change: Decimal | None
    rank_change: int | None
    #: Stars of the company's active certificate when its district last closed a period shown.
    stars: int | None
    trend: list[CityPeriodScore]


class RubricLeague(Contract):
    """The companies rated under one rubric, ranked together across districts."""

    rubric: str
    rubric_versions: list[str]
    districts: list[DistrictCode]
    #: Rows before ``limit``.
    total: int
    rows: list[CityLeagueRow]
    best_movers: list[CompanyKey]
    worst_movers: list[CompanyKey]


class DistrictPeriod(Contract):
    period: Period
    #: Companies with an index in the district's published standings (0: none published for the period).
    companies: int
    mean_index: Decimal | None


class DistrictLeagueSummary(Contract):
    district: DistrictCode
    #: The rubric of the district's newest standings among the periods shown.
    rubric: str
    #: Of the last period shown (0 and None if the district has not published it).
    companies: int
    mean_index: Decimal | None
    #: Companies holding 3, 4 and 5 stars when the last period closed (zero counts included), best first.
    stars: list[StarCount]
    trend: list[DistrictPeriod]
    #: When the district closed the newest period shown (its event's ``occurred_at``).
    last_closed_at: Timestamp


class CityLeagueTableRequest(Request):
    #: The last period shown (default: the newest period any district has closed).
    period: UntilPeriod | None = None
    periods: int = Field(default=4, ge=1, le=40)
    #: Rows per rubric group.
    limit: int = Field(default=100, ge=1, le=5000)


class CityLeagueTableReply(Reply):
    city: DistrictCode
    #: Oldest first; empty when no district has published standings yet.
    periods: list[Period]
    #: Indexes are only comparable under the same rubric: each group is ranked on its own.
    grouped_by: Literal["rubric"] = "rubric"
    groups: list[RubricLeague]
    districts: list[DistrictLeagueSummary]


# -- events --------------------------------------------------------------------------------------------


class RatingIssued(Event):
    event_type = "evaluation.rating_issued"
    rating_id: Id
    company_id: Id
    stars: int
    total: Decimal
    valid_until: date
    rubric: str


class RatingChanged(Event):
    event_type = "evaluation.rating_changed"
    rating_id: Id
    company_id: Id
    change: RatingChange
    from_stars: int
    to_stars: int | None
    reason: str


class NegativeEventRecorded(Event):
    event_type = "evaluation.negative_event_recorded"
    company_id: Id
    kind: NegativeKind
    occurred_on: date


class PeriodClosed(Event):
    """A quarter closed: the district's standings, for a city release to aggregate across districts."""

    event_type = "evaluation.period_closed"
    period: Period
    rubric: str
    rubric_version: str
    standings: list[Standing]


HOUSING_OFFICER = Permit.holding("housing_officer", actor="actor.person_id",
                                 rule="a housing officer of the district's housing department, holding no post "
                                      "in the company")
CONTRACT.query("rubric", RubricRequest, RubricInfo, "The district's rubric: aspects, items, points, grades and stars.")
CONTRACT.query("kpis", KpiRequest, KpiReply, "Ticket KPIs of a company or complex per quarter (the three rates and more).")
CONTRACT.query("kpi_ticket", KpiTicketRequest, KpiTicketReply,
               "How one ticket counts in the KPIs, from the latest facts seen.")
CONTRACT.command("submit_scorecard", SubmitScorecardRequest, ScorecardReply,
                 "A complex's committee scores the company for a quarter (the quarter must be open).",
                 permit=Permit.holding(*COMMITTEE_ROLES, actor="submitted_by", within="complex_id",
                                       rule="a member of the complex's committee"))
CONTRACT.command("sign_scorecard", SignScorecardRequest, ScorecardReply, "A committee member signs a scorecard version.",
                 permit=Permit.holding(*COMMITTEE_ROLES, actor="person_id",
                                       rule="a member of the committee that submitted it"))
CONTRACT.command("correct_scorecard", CorrectScorecardRequest, ScorecardReply,
                 "Correct a scorecard: a new recorded version with a reason, to be signed again.",
                 permit=Permit.holding(*COMMITTEE_ROLES, actor="corrected_by",
                                       rule="a member of the committee that submitted it"))
CONTRACT.query("get_scorecard", GetScorecardRequest, ScorecardReply, "One scorecard with every version and signature.")
CONTRACT.query("list_scorecards", ListScorecardsRequest, ScorecardList, "Scorecards by period, complex or company.")
CONTRACT.command("close_period", ClosePeriodRequest, PeriodReply,
                 "Close a quarter now: its scorecards lock; the standings are published.",
                 permit=Permit.holding("housing_officer", "district_officer",
                                       rule="a housing or district officer (for the district's housing department "
                                            "or street office named in closed_by)"))
CONTRACT.query("company_score", CompanyScoreRequest, CompanyScoreReply,
               "A company's evidence index for a quarter, with its explanation.")
CONTRACT.command("apply", ApplyRequest, RatingReply, "The company's self-assessment and application for a star rating.",
                 permit=Permit.holding("company_manager", actor="actor.person_id",
                                       rule="the company's manager, acting for the company"))
CONTRACT.command("review", ReviewRequest, RatingReply, "The community party committee reviews an application.",
                 permit=Permit.holding(*PARTY_COMMITTEE_ROLES, actor="actor.person_id",
                                       rule="a member of the community party committee of a community the company "
                                            "serves, holding no post in the company"))
CONTRACT.command("certify", CertifyRequest, RatingReply, "The housing department re-checks and certifies the stars.",
                 permit=HOUSING_OFFICER)
CONTRACT.command("annual_review", AnnualReviewRequest, RatingReply,
                 "The annual dynamic review: confirm, re-rate, downgrade or revoke a certificate.",
                 permit=HOUSING_OFFICER)
CONTRACT.command("record_negative_event", NegativeEventRequest, NegativeEventReply,
                 "A major safety accident, misuse of the maintenance fund or fraud: eligibility void.",
                 permit=Permit.holding("housing_officer", "district_officer", "subdistrict_officer", "community_worker",
                                       actor="reported_by.person_id",
                                       rule="an officer of the housing department, the district, the street or the "
                                            "community, for their organisation or post"))
CONTRACT.query("get_rating", GetRatingRequest, RatingReply, "One rating with its steps and certificate.")
CONTRACT.query("list_ratings", ListRatingsRequest, RatingList, "Ratings by company or state.")
CONTRACT.query("explain", ExplainRequest, ExplainReply, "Which scorecards, KPIs, assessments and adjustments made a score.")
CONTRACT.query("league_table", LeagueTableRequest, LeagueTableReply, "The district's companies ranked, with the trend over quarters.")
CONTRACT.query("city_league_table", CityLeagueTableRequest, CityLeagueTableReply,
               "The city release: every district's companies ranked together per rubric, with trends (since 1.1).")
CONTRACT.query("district_summary", DistrictSummaryRequest, DistrictSummaryReply,
               "The district's KPI trend per quarter and its star distribution (for the district report).")
for _event in (RatingIssued, RatingChanged, NegativeEventRecorded, PeriodClosed):
    CONTRACT.event(_event)
