"""Contract of the matching service: the resource, demand and service lists, matched optimally.

- Resource list (资源清单): offers. Idle goods from enterprises and other units (category, item,
  quantity and unit, condition, estimated value, location, availability window, pickup constraints),
  and services from paired units and volunteers (skill, hours, weekly schedule).
- Service list (服务清单): standing offers that recur (``recurrence`` weekly or monthly; the quantity
  is per period).
- Demand list (需求清单): needs of complexes and communities (category, quantity, priority, needed-by
  date, what it would cost to buy, location, notes).
- ``run_matching`` proposes a global optimum (min-cost flow; quantities may be split), each pair with
  its explanation. Both sides accept or decline; a declined pair is never proposed again. Fulfilment
  records the delivered quantity and writes the savings ledger ("what this would have cost").
- City-wide matching (since 1.1, the city release, ``services.matching.options.role: city``): the city's
  instance pools the districts' open remainders from their federated events (``offers_added`` and
  ``needs_added`` carry the records, ``remainder_changed`` what is left of each), proposes pairs across
  district lines with ``run_city_matching`` and announces them in ``city_proposals_made``, which the
  districts keep (``list_city_proposals``). Every record keeps its district code.
- Deciding city pairs (since 1.2): each district decides its own side (``decide_city_proposal``,
  ``city_proposal_decided``); the city settles the pair (accepted when both accept, declined when either
  declines, never proposed again) and announces it in ``city_proposal_status``; the need's district
  records the delivery (``fulfil_city_proposal``, ``city_proposal_fulfilled``, savings in its ledger) and
  the city's status tells the offer's district. While a pair is open its district holds the quantity.
- A decline says why (since 2.0): ``decide`` with ``decision: decline`` and ``decide_city_proposal`` with
  ``accept: false`` need a ``reason`` (1-500 characters); a decline without one is refused as
  ``validation_failed`` on ``reason``. Breaking (a 1.x decline without a reason was accepted), so the
  major version.

Quantities are whole numbers of their unit. Units of one family are converted to the family's base unit
when matched (tonne -> kg); proposals carry quantities in that base unit. Money is in yuan.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from redprop.contracts.base import (
    CommandRequest,
    Contract,
    DistrictCode,
    Event,
    Id,
    Name,
    Page,
    Permit,
    Reply,
    Request,
    ServiceContract,
    Text,
    Timestamp,
)
from redprop.contracts.registry import WORKER_ROLES

CONTRACT = ServiceContract(
    service="matching",
    version="2.0.0",
    summary="Resource, demand and service lists; optimal matching of offers to needs with explanations; "
            "proposals, acceptance, fulfilment and the savings ledger.",
)

# -- vocabularies --------------------------------------------------------------------------------

OfferKind = Literal["goods", "service"]
Condition = Literal["new", "good", "fair", "poor"]
Recurrence = Literal["none", "weekly", "monthly"]
#: Who offers: an organisation in the registry (located and checked there), a person, or someone else.
ProviderKind = Literal["organisation", "person", "other"]
#: Who asks: a complex or a community of the registry.
RequesterKind = Literal["complex", "community"]

#: Known units -> (family, factor to the family's base unit).
UNITS: dict[str, tuple[str, int]] = {
    "piece": ("count", 1), "plant": ("count", 1), "set": ("count", 1), "item": ("count", 1),
    "kg": ("mass", 1), "tonne": ("mass", 1000),
    "m": ("length", 1), "m2": ("area", 1), "m3": ("volume", 1),
    "hour": ("time", 1), "visit": ("visit", 1),
}
BASE_UNIT = {"count": "piece", "mass": "kg", "length": "m", "area": "m2", "volume": "m3",
             "time": "hour", "visit": "visit"}
#: What people type, in Chinese and English, for each unit.
UNIT_ALIASES: dict[str, str] = {
    "个": "piece", "件": "piece", "只": "piece", "块": "piece", "张": "piece", "条": "piece", "pcs": "piece",
    "pieces": "piece", "株": "plant", "棵": "plant", "盆": "plant", "plants": "plant", "套": "set",
    "sets": "set", "台": "item", "items": "item", "公斤": "kg", "千克": "kg", "吨": "tonne", "t": "tonne",
    "tonnes": "tonne", "ton": "tonne", "米": "m", "平方米": "m2", "㎡": "m2", "立方米": "m3",
    "小时": "hour", "hours": "hour", "h": "hour", "次": "visit", "visits": "visit",
}
Unit = Literal["piece", "plant", "set", "item", "kg", "tonne", "m", "m2", "m3", "hour", "visit"]

Priority = Annotated[int, Field(ge=1, le=5, description="1 lowest .. 5 most urgent; 3 is normal")]
Quantity = Annotated[int, Field(gt=0, le=10_000_000, description="A whole number of the unit")]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("1000000000"), max_digits=14, decimal_places=2)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]

OfferStatus = Literal["open", "exhausted", "expired", "withdrawn"]
NeedStatus = Literal["open", "met", "lapsed", "cancelled"]
ProposalStatus = Literal["proposed", "accepted", "declined", "fulfilled", "expired"]
#: Since 1.2 a city pair is decided and fulfilled like a district's proposal.
CityProposalStatus = Literal["proposed", "accepted", "declined", "fulfilled", "expired"]
Side = Literal["offer", "need"]
Decision = Literal["accept", "decline"]
#: The longest reason a decision may give (since 2.0; before, any text up to 10,000 characters).
REASON_MAX = 500


def decline_needs_reason(reason: str, declining: bool) -> str:
    """A declined pair is never proposed again, so the other side and the ledger are told why (since 2.0)."""
    if declining and not reason.strip():
        raise ValueError("a decline needs a reason (what the other side is told)")
    return reason


def normalise_unit(value: object) -> object:
    if isinstance(value, str):
        key = value.strip()
        return UNIT_ALIASES.get(key, UNIT_ALIASES.get(key.lower(), key.lower()))
    return value


# -- offers --------------------------------------------------------------------------------------


class OfferIn(Contract):
    """An offer as submitted. The provider's location and relocation date come from the registry when
    the provider is an organisation there; lat/lon or a complex given here take precedence."""

    model_config = {"extra": "forbid", "str_strip_whitespace": True}

    id: Id | None = Field(default=None, description="Chosen by the caller, or generated")
    #: goods or service; the category's kind when absent.
    kind: OfferKind | None = None
    provider_id: Id
    provider_kind: ProviderKind = "organisation"
    provider_name: Name | None = None
    title: Name = Field(description="The item or service, e.g. 红叶石楠 or 水电维修")
    description: Text = ""
    #: A taxonomy category; inferred from title and description (Chinese synonyms) when absent.
    category: str | None = Field(default=None, max_length=40)
    quantity: Quantity
    unit: Unit
    condition: Condition = "good"
    #: What the whole quantity would cost to buy, as the provider estimates it.
    estimated_value: Money = Decimal("0")
    lat: Lat | None = None
    lon: Lon | None = None
    complex_id: Id | None = None
    available_from: date | None = None
    available_until: date | None = None
    pickup_constraints: Text = ""
    #: Services: the skill offered and the weekdays it is available (1 = Monday .. 7 = Sunday).
    skill: str | None = Field(default=None, max_length=100)
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] | None = None
    #: A standing offer (the service list): the quantity is available again every period.
    recurrence: Recurrence = "none"
    #: Transport cost in yuan per base unit per km; the category's default when absent.
    transport_cost_per_km: Money | None = None

    @field_validator("unit", mode="before")
    @classmethod
    def _known_unit(cls, value: object) -> object:
        return normalise_unit(value)

    @field_validator("available_until")
    @classmethod
    def _until_after_from(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("available_from")
        if value is not None and start is not None and value < start:
            raise ValueError("available_until is before available_from")
        return value

    @field_validator("weekdays")
    @classmethod
    def _distinct_days(cls, value: list[int] | None) -> list[int] | None:
        if value is not None:
            if not value:
                raise ValueError("give at least one weekday, or leave weekdays out")
            return sorted(set(value))
        return value

    @model_validator(mode="after")
    def _location_pairs(self):
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class OfferRecord(Contract):
    id: Id
    district: DistrictCode
    kind: OfferKind
    provider_id: Id
    provider_kind: ProviderKind
    provider_name: str | None = None
    title: str
    description: str
    category: str
    #: How the category was found: ``given`` or ``synonym:<term>``.
    category_source: str
    quantity: int
    unit: Unit
    condition: Condition
    estimated_value: Decimal
    lat: float | None = None
    lon: float | None = None
    complex_id: Id | None = None
    available_from: date | None = None
    available_until: date | None = None
    #: The provider's relocation date from the registry (the offer ends then).
    leaves_on: date | None = None
    pickup_constraints: str = ""
    skill: str | None = None
    weekdays: list[int] | None = None
    recurrence: Recurrence
    transport_cost_per_km: Decimal | None = None
    status: OfferStatus
    #: Base-unit quantity not yet delivered nor held by an open proposal (this period, if recurring).
    available_quantity: int
    base_unit: str
    created_at: Timestamp


# -- needs ---------------------------------------------------------------------------------------


class NeedIn(Contract):
    model_config = {"extra": "forbid", "str_strip_whitespace": True}

    id: Id | None = None
    requester_kind: RequesterKind = "complex"
    #: A complex or community id in the registry; it locates the need and files its savings.
    requester_id: Id
    title: Name
    description: Text = ""
    category: str | None = Field(default=None, max_length=40)
    kind: OfferKind | None = None
    quantity: Quantity
    unit: Unit
    priority: Priority = 3
    needed_from: date | None = None
    needed_by: date
    #: What meeting the need would cost if bought (the savings ledger counts this).
    budget_estimate: Money = Decimal("0")
    lat: Lat | None = None
    lon: Lon | None = None
    notes: Text = ""

    @field_validator("unit", mode="before")
    @classmethod
    def _known_unit(cls, value: object) -> object:
        return normalise_unit(value)

    @field_validator("needed_by")
    @classmethod
    def _by_after_from(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("needed_from")
        if start is not None and value < start:
            raise ValueError("needed_by is before needed_from")
        return value

    @model_validator(mode="after")
    def _location_pairs(self):
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class NeedRecord(Contract):
    id: Id
    district: DistrictCode
    requester_kind: RequesterKind
    requester_id: Id
    complex_id: Id | None = None
    community_id: Id | None = None
    subdistrict_id: Id | None = None
    title: str
    description: str
    category: str
    category_source: str
    kind: OfferKind
    quantity: int
    unit: Unit
    priority: int
    needed_from: date | None = None
    needed_by: date
    budget_estimate: Decimal
    lat: float | None = None
    lon: float | None = None
    notes: str = ""
    status: NeedStatus
    #: Base-unit quantity neither delivered nor held by an open proposal.
    open_quantity: int
    base_unit: str
    created_at: Timestamp


# -- proposals -----------------------------------------------------------------------------------


class Explanation(Contract):
    """Why this pair: every figure the optimiser used."""

    category: str
    offer_category_source: str
    need_category_source: str
    #: Words the two descriptions share (jieba tokens) and their similarity, 0..1.
    shared_terms: list[str]
    similarity: float
    #: The pluggable scorers' factors (0..1 each) and their product.
    scores: dict[str, float]
    quality: float
    distance_m: float
    #: The days on which the hand-over can happen (offer window ∩ need window, from the run date).
    feasible_from: date
    feasible_until: date
    offer_available_until: date | None = None
    needed_by: date
    unit: str
    unit_value: Decimal = Field(description="Yuan per base unit: what the need would pay to buy it")
    value: Decimal = Field(description="quantity x unit_value")
    priority: int
    priority_weight: float
    fairness_weight: float
    transport_cost: Decimal
    #: Weighted value minus transport cost, what the optimiser maximised for this pair.
    net_benefit: Decimal
    summary: str


class ProposalRecord(Contract):
    id: Id
    district: DistrictCode
    run_id: Id
    offer_id: Id
    need_id: Id
    quantity: int
    unit: str
    status: ProposalStatus
    offer_decision: Decision | None = None
    need_decision: Decision | None = None
    delivered_quantity: int | None = None
    savings: Decimal | None = None
    explanation: Explanation
    created_at: Timestamp
    updated_at: Timestamp


# -- requests and replies ------------------------------------------------------------------------


class AddOffersRequest(CommandRequest):
    #: The person acting (since 1.3): see the operation's permit.
    actor: Id
    offers: list[OfferIn] = Field(min_length=1, max_length=10_000)


class AddOffersReply(Reply):
    offers: list[OfferRecord]


class AddNeedsRequest(CommandRequest):
    #: The person acting (since 1.3): see the operation's permit.
    actor: Id
    needs: list[NeedIn] = Field(min_length=1, max_length=10_000)


class AddNeedsReply(Reply):
    needs: list[NeedRecord]


class WithdrawOfferRequest(CommandRequest):
    #: The person acting (since 1.3): see the operation's permit.
    actor: Id
    offer_id: Id


class CancelNeedRequest(CommandRequest):
    #: The person acting (since 1.3): see the operation's permit.
    actor: Id
    need_id: Id


class OfferReply(Reply):
    offer: OfferRecord


class NeedReply(Reply):
    need: NeedRecord


class ProviderLeavesRequest(CommandRequest):
    """The provider (e.g. an enterprise relocating for a metro line) leaves on ``on``: its offers end
    then; if that is today or earlier they expire now with their open proposals."""
    #: The person acting (since 1.3): see the operation's permit.
    actor: Id

    provider_id: Id
    on: date
    as_of: date | None = None


class ProviderLeavesReply(Reply):
    offers_ended: list[Id]
    offers_expired: list[Id]
    proposals_expired: list[Id]


class RunMatchingRequest(CommandRequest):
    #: The person acting (since 1.3): see the operation's permit.
    actor: Id
    #: The day the run plans from (default: today). Offers ending before it expire.
    as_of: date | None = None
    #: Re-solve every category, not only those with new or changed offers and needs.
    full: bool = False
    #: Candidates farther apart than this are not considered.
    max_distance_km: float = Field(default=30.0, gt=0, le=500)


class RunMatchingReply(Reply):
    run_id: Id
    as_of: date
    categories: list[str] = Field(description="The categories this run solved (incremental)")
    offers_considered: int
    needs_considered: int
    candidates: int
    proposals: list[ProposalRecord]
    objective: Decimal = Field(description="Sum of net benefit over the new proposals")
    matched_value: Decimal
    offers_expired: list[Id]
    solve_seconds: float


class DecideRequest(CommandRequest):
    #: The person acting (since 1.3): see the operation's permit.
    actor: Id
    proposal_id: Id
    side: Side
    decision: Decision
    #: Why; required for a decline (since 2.0), at most REASON_MAX characters.
    reason: str = Field(default="", max_length=REASON_MAX, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _decline_says_why(cls, value: str, info: ValidationInfo) -> str:
        return decline_needs_reason(value, info.data.get("decision") == "decline")


class FulfilRequest(CommandRequest):
    #: The person acting (since 1.3): see the operation's permit.
    actor: Id
    proposal_id: Id
    delivered_quantity: int = Field(ge=0, le=10_000_000)
    delivered_on: date | None = None


class ProposalReply(Reply):
    proposal: ProposalRecord
    #: False when the request repeated a decision already recorded (nothing changed).
    changed: bool = True


class ListOffersRequest(Page):
    status: OfferStatus | None = "open"
    category: str | None = None
    provider_id: Id | None = None
    #: True: only the service list (standing, recurring offers).
    recurring: bool | None = None


class ListOffersReply(Reply):
    offers: list[OfferRecord]
    total: int


class ListNeedsRequest(Page):
    status: NeedStatus | None = "open"
    category: str | None = None
    requester_id: Id | None = None


class ListNeedsReply(Reply):
    needs: list[NeedRecord]
    total: int


class ListProposalsRequest(Page):
    status: ProposalStatus | None = None
    offer_id: Id | None = None
    need_id: Id | None = None
    run_id: Id | None = None


class ListProposalsReply(Reply):
    proposals: list[ProposalRecord]
    total: int


class GetProposalRequest(Request):
    proposal_id: Id


class LedgerRequest(Request):
    level: Literal["complex", "community", "subdistrict", "district"] = "complex"


class LedgerLine(Contract):
    id: Id
    fulfilments: int
    delivered_value: Decimal = Field(description="What the delivered goods and services would have cost")


class LedgerReply(Reply):
    district: DistrictCode
    level: str
    lines: list[LedgerLine]
    total: Decimal


class CategoriesRequest(Request):
    pass


class CategoryInfo(Contract):
    id: str
    name: str
    synonyms: list[str]
    kind: OfferKind
    transport_cost_per_km: Decimal


class CategoriesReply(Reply):
    categories: list[CategoryInfo]


# -- city-wide matching (the city release) -------------------------------------------------------


class PoolEntry(Contract):
    """What is left of one offer or need as its district sees it now: absolute values, so a repeated
    or replayed announcement changes nothing."""

    side: Side
    id: Id
    status: OfferStatus | NeedStatus
    #: Base units neither held by an open proposal nor delivered (0 unless open). City pairs are not
    #: subtracted here: the city accounts for its own pairs.
    open_quantity: int = Field(ge=0)
    #: Offers: the day the offer ends (available_until or the provider's leaving day, the earlier).
    until: date | None = None


class CityProposalRecord(Contract):
    """A pair across district lines, proposed by the city. ``district`` is who keeps this copy: the
    city, or a district on one side of the pair."""

    id: Id
    district: DistrictCode
    run_id: Id
    offer_district: DistrictCode
    offer_id: Id
    need_district: DistrictCode
    need_id: Id
    quantity: int
    unit: str
    status: CityProposalStatus
    explanation: Explanation
    created_at: Timestamp
    #: Since 1.2: each side's decision, and the delivery recorded by the need's district.
    offer_decision: Decision | None = None
    need_decision: Decision | None = None
    delivered_quantity: int | None = None
    savings: Decimal | None = None
    updated_at: Timestamp | None = None


class RunCityMatchingRequest(CommandRequest):
    #: The person acting (since 1.3): see the operation's permit.
    actor: Id
    #: The day the run plans from (default: today).
    as_of: date | None = None
    #: Candidates farther apart than this are not considered.
    max_distance_km: float = Field(default=30.0, gt=0, le=500)


class RunCityMatchingReply(Reply):
    run_id: Id
    as_of: date
    #: The districts whose open offers and needs were pooled.
    districts: list[DistrictCode]
    offers_considered: int
    needs_considered: int
    candidates: int = Field(description="Feasible pairs across district lines")
    proposals: list[CityProposalRecord]
    objective: Decimal
    matched_value: Decimal
    solve_seconds: float


class CityPoolRequest(Page):
    side: Side | None = None
    district: DistrictCode | None = None
    #: Only what is open with quantity left (what a run considers).
    open_only: bool = True


class CityPoolEntry(Contract):
    district: DistrictCode
    side: Side
    id: Id
    category: str
    title: str
    status: OfferStatus | NeedStatus
    #: The district's last announced remainder, in the base unit.
    open_quantity: int
    #: What open city proposals hold of it.
    held_quantity: int
    base_unit: str
    lat: float | None = None
    lon: float | None = None
    #: When the newest district event applied to this entry happened.
    as_of: Timestamp


class CityPoolReply(Reply):
    entries: list[CityPoolEntry]
    total: int


class ListCityProposalsRequest(Page):
    status: CityProposalStatus | None = None
    #: Pairs with this district on either side.
    district: DistrictCode | None = None


class ListCityProposalsReply(Reply):
    proposals: list[CityProposalRecord]
    total: int


class DecideCityProposalRequest(CommandRequest):
    """Since 1.2: a district decides its own side of a city pair (the offer's or the need's district)."""

    city_proposal_id: Id
    side: Side
    accept: bool
    #: Who decides (a person or an organisation id), recorded in the event.
    actor: Id
    #: Why; required for a decline (since 2.0), at most REASON_MAX characters.
    reason: str = Field(default="", max_length=REASON_MAX, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _decline_says_why(cls, value: str, info: ValidationInfo) -> str:
        return decline_needs_reason(value, info.data.get("accept") is False)


class FulfilCityProposalRequest(CommandRequest):
    """Since 1.2: the need's district records what arrived of an accepted city pair."""

    city_proposal_id: Id
    delivered_quantity: int = Field(ge=0, le=10_000_000)
    delivered_on: date | None = None
    actor: Id


class CityProposalReply(Reply):
    proposal: CityProposalRecord
    #: False when the request repeated a decision already recorded (nothing changed).
    changed: bool = True


# -- events --------------------------------------------------------------------------------------


class OffersAdded(Event):
    event_type = "matching.offers_added"
    offer_ids: list[Id]
    #: Since 1.1: the records themselves, so the city release can pool them.
    offers: list[OfferRecord] = Field(default_factory=list)


class NeedsAdded(Event):
    event_type = "matching.needs_added"
    need_ids: list[Id]
    #: Since 1.1: the records themselves, so the city release can pool them.
    needs: list[NeedRecord] = Field(default_factory=list)


class RemainderChanged(Event):
    """Since 1.1: what is left of offers and needs after a run, a decision, a fulfilment, a withdrawal,
    a cancellation or an expiry. The city release keeps its pool current from it."""

    event_type = "matching.remainder_changed"
    entries: list[PoolEntry] = Field(min_length=1)


class CityProposalsMade(Event):
    """Since 1.1: the city's matching proposed pairs across district lines (``district`` is the city's
    code); each district keeps those with its own offers or needs."""

    event_type = "matching.city_proposals_made"
    run_id: Id
    proposals: list[CityProposalRecord]
    matched_value: Decimal


class CityProposalDecided(Event):
    """Since 1.2: a district (``district``) decided its side of a city pair; the city consumes it."""

    event_type = "matching.city_proposal_decided"
    city_proposal_id: Id
    side: Side
    accept: bool
    actor: Id
    reason: str = ""


class CityProposalFulfilled(Event):
    """Since 1.2: the need's district (``district``) recorded a delivery of an accepted city pair and
    filed its savings; the city consumes it and tells the offer's district by ``city_proposal_status``."""

    event_type = "matching.city_proposal_fulfilled"
    city_proposal_id: Id
    offer_district: DistrictCode
    offer_id: Id
    need_id: Id
    delivered_quantity: int
    savings: Decimal
    delivered_on: date
    complex_id: Id | None = None
    community_id: Id | None = None


class CityProposalStatusChanged(Event):
    """Since 1.2: the city's copy of a pair after a decision, a fulfilment or an expiry (``district`` is
    the city's code). Absolute: the districts on both sides update their copy from it."""

    event_type = "matching.city_proposal_status"
    proposal: CityProposalRecord


class ProposalsMade(Event):
    event_type = "matching.proposals_made"
    run_id: Id
    proposal_ids: list[Id]
    matched_value: Decimal


class ProposalDecided(Event):
    event_type = "matching.proposal_decided"
    proposal_id: Id
    offer_id: Id
    need_id: Id
    side: Side
    decision: Decision
    status: ProposalStatus


class ProposalFulfilled(Event):
    event_type = "matching.proposal_fulfilled"
    proposal_id: Id
    offer_id: Id
    need_id: Id
    delivered_quantity: int
    savings: Decimal
    complex_id: Id | None = None
    community_id: Id | None = None
    #: Since 1.4: who gave it (the offer's provider), so participation can credit a person's donation.
    provider_id: Id | None = None
    provider_kind: ProviderKind | None = None


class OffersExpired(Event):
    event_type = "matching.offers_expired"
    offer_ids: list[Id]
    proposal_ids: list[Id]


#: Who keeps the resource and demand lists and answers for a pair: the hub's workers and officials.
KEEPS_LISTS = Permit.holding(*WORKER_ROLES, "subdistrict_officer", "district_officer",
                             rule="a community worker, grid worker or street/district officer of the district")
DISTRICT_OFFICER = Permit.holding("district_officer", rule="a district officer decides for the district")
CONTRACT.command("add_offers", AddOffersRequest, AddOffersReply,
                 "Add offers to the resource list (goods, services, standing services), atomically.",
                 permit=KEEPS_LISTS)
CONTRACT.command("add_needs", AddNeedsRequest, AddNeedsReply, "Add needs to the demand list, atomically.",
                 permit=KEEPS_LISTS)
CONTRACT.command("withdraw_offer", WithdrawOfferRequest, OfferReply, "Withdraw an offer and its open proposals.",
                 permit=KEEPS_LISTS)
CONTRACT.command("cancel_need", CancelNeedRequest, NeedReply, "Cancel a need and its open proposals.",
                 permit=KEEPS_LISTS)
CONTRACT.command("provider_leaves", ProviderLeavesRequest, ProviderLeavesReply,
                 "A provider leaves (relocation): its offers end on that day, or expire now.",
                 permit=KEEPS_LISTS)
CONTRACT.command("run_matching", RunMatchingRequest, RunMatchingReply,
                 "Propose the optimal assignment of open offers to open needs (incremental by category).",
                 permit=Permit.holding("subdistrict_officer", "district_officer", "operator",
                                       rule="a street or district officer, or the operator's schedule"))
CONTRACT.command("decide", DecideRequest, ProposalReply,
                 "One side accepts or declines a proposal; a declined pair is never proposed again.",
                 permit=KEEPS_LISTS)
CONTRACT.command("fulfil", FulfilRequest, ProposalReply,
                 "Record the delivered quantity of an accepted proposal and its savings.",
                 permit=KEEPS_LISTS)
CONTRACT.query("list_offers", ListOffersRequest, ListOffersReply, "The resource list (资源清单).")
CONTRACT.query("list_needs", ListNeedsRequest, ListNeedsReply, "The demand list (需求清单).")
CONTRACT.query("service_list", ListOffersRequest, ListOffersReply,
               "The service list (服务清单): standing offers that recur.")
CONTRACT.query("list_proposals", ListProposalsRequest, ListProposalsReply, "Proposals with their explanations.")
CONTRACT.query("get_proposal", GetProposalRequest, ProposalReply, "One proposal and its explanation.")
CONTRACT.query("ledger", LedgerRequest, LedgerReply,
               "Savings per complex, community, subdistrict or the district: what delivered help would have cost.")
CONTRACT.query("categories", CategoriesRequest, CategoriesReply, "The category taxonomy with its Chinese synonyms.")
CONTRACT.event(OffersAdded)
CONTRACT.event(NeedsAdded)
CONTRACT.event(ProposalsMade)
CONTRACT.event(ProposalDecided)
CONTRACT.event(ProposalFulfilled)
CONTRACT.command("run_city_matching", RunCityMatchingRequest, RunCityMatchingReply,
                 "City release: propose the optimal pairs across district lines from the pooled districts' "
                 "open remainders.",
                 permit=Permit.holding("district_officer", "operator",
                                       rule="an officer or operator of the city release (its own registry)"))
CONTRACT.query("city_pool", CityPoolRequest, CityPoolReply,
               "City release: the pooled open offers and needs of every district, with their district codes.")
CONTRACT.query("list_city_proposals", ListCityProposalsRequest, ListCityProposalsReply,
               "Pairs across district lines: all of them in the city release, a district's own in a district.")
CONTRACT.event(OffersExpired)
CONTRACT.event(RemainderChanged)
CONTRACT.event(CityProposalsMade)
CONTRACT.command("decide_city_proposal", DecideCityProposalRequest, CityProposalReply,
                 "A district accepts or declines its own side of a city pair; a declined pair is never proposed "
                 "again.",
                 permit=DISTRICT_OFFICER)
CONTRACT.command("fulfil_city_proposal", FulfilCityProposalRequest, CityProposalReply,
                 "The need's district records the delivery of an accepted city pair and its savings.",
                 permit=DISTRICT_OFFICER)
CONTRACT.event(CityProposalDecided)
CONTRACT.event(CityProposalFulfilled)
CONTRACT.event(CityProposalStatusChanged)
