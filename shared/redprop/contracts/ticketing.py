"""Contract of the ticketing service: the three-order service (居民下单、社区发单、单位接单).

A resident places a ticket; it is routed to a handler (the complex's property company, the grid service
team, the community, a department, or the mediation service) and dispatched; the handler accepts or
rejects it, works on it, resolves it with the repair price list; the resident confirms and rates it or
reopens it. SLA clocks (response and resolution deadlines, on calendar or working time) run throughout;
a breach, a second rejection or a request climbs the ladder grid > community > subdistrict > district.

Every command names its ``actor``: who is doing it, and through it the registry person acting
(``actor.person``: a resident's or worker's own id, a handler unit's ``person_id``). Each operation's
permit is checked against the registry before it runs (redprop.authz); the service then checks the
record (the resident rates their own ticket, a worker's post covers the ticket's place, the handler's
person holds a post in the unit holding it). A wrong actor is ``permission_denied``; a ticket the actor
may not see is ``not_found``, exactly as one that does not exist; an illegal transition is ``conflict``.
Since 1.2: permits on every operation, ``person_id`` required of a handler actor, ``actor`` on
``set_price_list`` and ``sweep``, ``viewer`` on ``get`` and ``list``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, HttpUrl, WithJsonSchema, model_validator

from redprop.contracts.base import (
    CommandRequest,
    Contract,
    Count,
    DistrictCode,
    Event,
    ExactlyOne,
    GeoPoint,
    Id,
    Month,
    Page,
    Permit,
    Reply,
    Request,
    ServiceContract,
    Text,
    Timestamp,
)
from redprop.contracts.registry import COMPANY_ROLES, GRID_TEAM_ROLES, OFFICIAL_ROLES, WORKER_ROLES

CONTRACT = ServiceContract(
    service="ticketing",
    version="1.2",
    summary="Resident requests: intake, routing, dispatch, SLA clocks, escalation, price list, ratings, the three rates.",
)

Status = Literal[
    "submitted",         # placed, not yet with a handler (no route found, or waiting for a worker)
    "dispatched",        # with a handler who has not answered yet
    "in_progress",       # accepted by the handler
    "awaiting_resident", # the handler waits for the resident (SLA clock paused)
    "resolved",          # the handler says it is done; the resident confirms or reopens
    "closed",            # confirmed (and usually rated), or closed by a worker
    "cancelled",
]
OPEN_STATUSES: tuple[str, ...] = ("submitted", "dispatched", "in_progress", "awaiting_resident")
SlaClass = Literal["emergency", "utilities", "general", "complex"]
SlaState = Literal["on_track", "at_risk", "breached"]
Level = Literal["grid", "community", "subdistrict", "district"]
LADDER: tuple[str, ...] = ("grid", "community", "subdistrict", "district")
HandlerKind = Literal["property_company", "grid_team", "community", "subdistrict", "district",
                      "department", "mediation"]
Urgency = Literal["normal", "urgent", "emergency"]
FundingSource = Literal["company", "resident", "emergency_repair_fund", "public_budget", "none"]
ActorKind = Literal["resident", "worker", "handler", "system"]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
CategoryCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class Actor(Contract):
    """Who acts. A resident or a worker is a registry person (``id``); a handler acts for a unit
    (``handler_kind`` + ``id`` of the unit) through a person holding a post in it (``person_id``, required
    since 1.2). ``system`` is the service itself (the SLA sweep, automatic dispatch): no caller may be it."""

    kind: ActorKind
    id: Id
    handler_kind: HandlerKind | None = None
    person_id: Id | None = None

    @model_validator(mode="after")
    def _handler_has_kind(self):
        if self.kind == "handler" and self.handler_kind is None:
            raise ValueError("a handler actor needs handler_kind")
        if self.kind == "handler" and self.person_id is None:
            raise ValueError("a handler actor needs person_id: the person acting for the unit")
        return self

    @property
    def person(self) -> str | None:
        """The registry person acting (what the permits check): None for the service itself."""
        if self.kind in ("resident", "worker"):
            return self.id
        if self.kind == "handler":
            return self.person_id
        return None


class Handler(Contract):
    kind: HandlerKind
    id: Id
    name: str | None = None


class Category(Contract):
    code: CategoryCode
    name_zh: str
    name_en: str
    sla_class: SlaClass
    handler_kind: HandlerKind
    #: For utilities: which department function handles it (registry department_function).
    department_function: str | None = None
    #: Common parts may be paid from the emergency repair fund.
    common_parts: bool = False


class PriceItem(Contract):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,40}$")]
    name: str
    unit: str
    price: Money
    #: None: the district's list; else the property company whose list this is.
    company_id: Id | None = None


class UsedItem(Contract):
    code: str
    #: Hundredths at most: the schema says so (multipleOf), so a finer quantity is not schema-valid.
    quantity: Annotated[Decimal, Field(gt=0, le=10_000, max_digits=10, decimal_places=2),
                        WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 10_000,
                                        "multipleOf": 0.01})]


class CostLine(Contract):
    code: str
    name: str
    unit: str
    quantity: Decimal
    price: Decimal
    amount: Decimal


class HistoryEntry(Contract):
    at: Timestamp
    actor: Actor
    action: str
    from_status: Status | None = None
    to_status: Status | None = None
    detail: dict = Field(default_factory=dict)


class Location(Contract):
    building_id: Id | None = None
    complex_id: Id | None = None
    grid_id: Id | None = None
    community_id: Id | None = None
    subdistrict_id: Id | None = None
    point: GeoPoint | None = None


class Ticket(Contract):
    id: Id
    district: DistrictCode
    resident_id: Id
    category: str
    sla_class: SlaClass
    urgency: Urgency
    description: str
    media_urls: list[str] = Field(default_factory=list)
    location: Location
    property_company_id: Id | None = None
    status: Status
    level: Level
    handler: Handler | None = None
    rejections: int = 0
    escalations: int = 0
    reopen_count: int = 0
    submitted_at: Timestamp
    dispatched_at: Timestamp | None = None
    responded_at: Timestamp | None = None
    resolved_at: Timestamp | None = None
    closed_at: Timestamp | None = None
    response_due_at: Timestamp
    resolution_due_at: Timestamp
    sla_state: SlaState
    rating: int | None = None
    rating_comment: str | None = None
    cost: Decimal | None = None
    cost_lines: list[CostLine] = Field(default_factory=list)
    funding_source: FundingSource | None = None
    duplicate_of: Id | None = None
    merged_into: Id | None = None
    history: list[HistoryEntry] = Field(default_factory=list)


# -- commands ----------------------------------------------------------------------------------------


class SubmitRequest(ExactlyOne, CommandRequest):
    #: The ticket's location.
    one_of = ("building_id", "complex_id", "point")

    resident_id: Id
    category: CategoryCode
    description: Text = Field(min_length=2)
    building_id: Id | None = None
    complex_id: Id | None = None
    point: GeoPoint | None = None
    media_urls: list[HttpUrl] = Field(default_factory=list, max_length=20)
    urgency: Urgency = "normal"
    #: Submitted on behalf of the resident (hotline, grid worker); recorded in the history. That person
    #: is the one acting: they must hold a worker's or an official's post covering the ticket's place.
    entered_by: Id | None = None


class TicketCommand(CommandRequest):
    ticket_id: Id
    actor: Actor


class DispatchRequest(TicketCommand):
    """A community worker dispatches (or re-dispatches) by hand; without ``handler`` the router picks."""

    handler: Handler | None = None


class AcceptRequest(TicketCommand):
    note: Text | None = None


class RejectRequest(TicketCommand):
    reason: Text = Field(min_length=2)


class TransferRequest(TicketCommand):
    handler: Handler
    reason: Text = Field(min_length=2)


class NoteRequest(TicketCommand):
    note: Text = Field(min_length=1)
    #: Waiting for the resident (access to the home, more information): pauses the SLA clock.
    awaiting_resident: bool = False


class ResumeRequest(TicketCommand):
    note: Text | None = None


class ResolveRequest(TicketCommand):
    summary: Text = Field(min_length=2)
    items: list[UsedItem] = Field(default_factory=list, max_length=100)
    funding_source: FundingSource = "company"


class RateRequest(TicketCommand):
    rating: int = Field(ge=1, le=5)
    comment: Text | None = None


class ReopenRequest(TicketCommand):
    reason: Text = Field(min_length=2)


class CloseRequest(TicketCommand):
    note: Text | None = None


class CancelRequest(TicketCommand):
    reason: Text = Field(min_length=2)


class EscalateRequest(TicketCommand):
    reason: Text = Field(min_length=2)


class FollowRequest(TicketCommand):
    """The resident follows the likely original instead: this ticket is cancelled and linked."""

    original_id: Id


class MergeRequest(TicketCommand):
    """A worker merges this ticket into the original (duplicates)."""

    original_id: Id


class SetPriceListRequest(CommandRequest):
    #: The person setting it (since 1.2): the company's manager for its list, a district officer for the district's.
    actor: Id
    company_id: Id | None = None
    items: list[PriceItem] = Field(min_length=1, max_length=2000)


class SweepRequest(CommandRequest):
    """Run the SLA sweep now (the service also runs it on a timer)."""

    #: The operator running it (since 1.2).
    actor: Id
    now: Timestamp | None = None


class TicketReply(Reply):
    ticket: Ticket
    #: A likely duplicate found at intake (same place, category, similar text, recent).
    possible_duplicate_of: Id | None = None


class PriceListReply(Reply):
    company_id: Id | None = None
    items: list[PriceItem]


class SweepReply(Reply):
    examined: int
    newly_at_risk: int
    newly_breached: int
    escalated: int


# -- queries -----------------------------------------------------------------------------------------


class GetTicketRequest(Request):
    ticket_id: Id
    #: Who reads it (since 1.2; required): a ticket they may not see is ``not_found``, as a missing one.
    viewer: Actor


class ListTicketsRequest(Page):
    #: Who reads (since 1.2; required): a resident lists their own tickets, a handler its unit's, a worker
    #: those of the places their posts cover.
    viewer: Actor
    status: list[Status] | None = None
    complex_id: Id | None = None
    community_id: Id | None = None
    grid_id: Id | None = None
    handler_id: Id | None = None
    resident_id: Id | None = None
    category: str | None = None
    sla_state: SlaState | None = None
    #: Only tickets submitted at or after this time...
    submitted_since: Timestamp | None = None
    #: ...and at or before this one (both inclusive, as Open311's start_date and end_date).
    submitted_until: Timestamp | None = None


class TicketList(Reply):
    tickets: list[Ticket]
    total: int


class CatalogueRequest(Request):
    pass


class CatalogueReply(Reply):
    categories: list[Category]
    sla: dict[str, dict[str, float | str]]


class PriceListRequest(Request):
    company_id: Id | None = None


class StatsRequest(Request):
    group_by: Literal["handler", "complex", "grid", "community", "district"] = "handler"
    since: Timestamp | None = None
    until: Timestamp | None = None


class RateRow(Contract):
    key: str
    name: str | None = None
    tickets: int
    responded: int
    responded_on_time: int
    resolved: int
    resolved_on_time: int
    rated: int
    satisfied: int
    reopened: int
    #: The three rates (三率) and the on-time rate, as fractions 0..1 (None when nothing to count).
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    on_time_rate: float | None
    mean_rating: float | None
    mean_hours_to_respond: float | None
    mean_hours_to_resolve: float | None


class StatsReply(Reply):
    group_by: str
    rows: list[RateRow]
    total: RateRow


class MonthlySummaryRequest(Request):
    complex_id: Id
    month: Month


class SummaryItem(Contract):
    category: str
    count: int
    ticket_ids: list[Id]
    buildings: list[Id] = Field(default_factory=list)


class MonthlySummaryReply(Reply):
    complex_id: Id
    month: str
    received: int
    open: list[SummaryItem]
    resolved: list[SummaryItem]
    #: The same category in the same building twice or more in the month: a problem that keeps coming.
    recurring: list[SummaryItem]
    emergency_fund_spent: Decimal


class FundUsageRequest(Request):
    complex_id: Id
    year: int | None = Field(default=None, ge=2000, le=2100)


class FundUsageReply(Reply):
    complex_id: Id
    total: Decimal
    uses: list[dict]


# -- events ------------------------------------------------------------------------------------------


class TicketFacts(Contract):
    """What evaluation needs to compute the rates without calling back."""

    ticket_id: Id
    category: CategoryCode  # ticketing's tickets.category is String(40)
    sla_class: SlaClass
    level: Level
    status: Status
    handler: Handler | None = None
    property_company_id: Id | None = None
    complex_id: Id | None = None
    grid_id: Id | None = None
    community_id: Id | None = None
    subdistrict_id: Id | None = None
    submitted_at: Timestamp
    response_due_at: Timestamp
    resolution_due_at: Timestamp
    responded_at: Timestamp | None = None
    resolved_at: Timestamp | None = None
    responded_on_time: bool | None = None
    resolved_on_time: bool | None = None
    #: As rated (``RateRequest.rating``, 1-5); stored in evaluation's kpi_tickets.rating.
    rating: int | None = Field(default=None, ge=1, le=5)
    #: Stored in evaluation's kpi_tickets.version_reopens (INTEGER).
    reopen_count: Count = 0


class TicketEvent(Event):
    ticket: TicketFacts
    actor: Actor


class TicketCreated(TicketEvent):
    event_type = "ticketing.created"
    possible_duplicate_of: Id | None = None


class TicketDispatched(TicketEvent):
    event_type = "ticketing.dispatched"


class TicketAccepted(TicketEvent):
    event_type = "ticketing.accepted"


class TicketRejected(TicketEvent):
    event_type = "ticketing.rejected"
    reason: str


class TicketEscalated(TicketEvent):
    event_type = "ticketing.escalated"
    from_level: Level
    to_level: Level
    trigger: Literal["sla_breach", "second_rejection", "request"]
    reason: str


class TicketResolved(TicketEvent):
    event_type = "ticketing.resolved"
    cost: Decimal
    funding_source: FundingSource


class TicketRated(TicketEvent):
    event_type = "ticketing.rated"
    comment: str | None = None


class TicketReopened(TicketEvent):
    event_type = "ticketing.reopened"
    reason: str


class TicketClosed(TicketEvent):
    event_type = "ticketing.closed"


class TicketCancelled(TicketEvent):
    event_type = "ticketing.cancelled"
    reason: str


class DisputeReferred(TicketEvent):
    """A dispute ticket goes to mediation: the mediation service opens a case from this."""

    event_type = "ticketing.dispute_referred"
    resident_id: Id
    description: str
    building_id: Id | None = None


class SlaBreached(TicketEvent):
    event_type = "ticketing.sla_breached"
    deadline: Literal["response", "resolution"]
    due_at: datetime


#: Who works on tickets for the hub: grid workers and officials (a post covering the ticket's place).
STAFF_ROLES: tuple[str, ...] = tuple(dict.fromkeys((*WORKER_ROLES, *OFFICIAL_ROLES)))
#: Who may act for a handler unit: company, department, grid team, office and mediator posts (the service
#: checks the post is in the unit holding the ticket).
HANDLER_ROLES: tuple[str, ...] = tuple(dict.fromkeys((*COMPANY_ROLES, "department_contact", *GRID_TEAM_ROLES,
                                                      *OFFICIAL_ROLES, "mediator")))
_ACTOR = "actor.person"
RESIDENT = Permit.person("the resident who placed the ticket (any other resident: not_found)", actor=_ACTOR)
HANDLER = Permit.holding(*HANDLER_ROLES, actor=_ACTOR, rule="a person holding a post in the unit that holds the "
                         "ticket (company staff in that company, a department's contact, the grid's team, the office)")
STAFF = Permit.holding(*STAFF_ROLES, actor=_ACTOR,
                       rule="a worker or official whose post covers the ticket's place")
PARTY = Permit.person("the resident who placed it, a worker or official covering its place, or the person acting "
                      "for the unit holding it", actor=_ACTOR)
HANDLER_OR_STAFF = Permit.holding(*HANDLER_ROLES, actor=_ACTOR,
                                  rule="the unit holding the ticket, or a worker or official covering its place")
VIEWER = Permit.person("the resident who placed it, the unit holding it, a worker or official covering its place; "
                       "any other ticket is not_found", actor="viewer.person")

CONTRACT.command("submit", SubmitRequest, TicketReply, "A resident places a ticket (居民下单); routed and dispatched at once when a handler is found.",
                 permit=Permit.person("a resident the registry knows places their own ticket; with entered_by, a "
                                      "worker or official whose post covers the place enters it for them",
                                      actor="resident_id"))
CONTRACT.command("dispatch", DispatchRequest, TicketReply, "A community worker dispatches a ticket (社区发单), to a named handler or by the routing rules.", permit=STAFF)
CONTRACT.command("accept", AcceptRequest, TicketReply, "The handler takes the ticket (单位接单): the first response.", permit=HANDLER)
CONTRACT.command("reject", RejectRequest, TicketReply, "The handler declines with a reason; the ticket is re-dispatched (the second rejection escalates).", permit=HANDLER)
CONTRACT.command("transfer", TransferRequest, TicketReply, "Hand the ticket to another handler.", permit=HANDLER_OR_STAFF)
CONTRACT.command("note", NoteRequest, TicketReply, "A progress note; may pause the SLA clock while waiting for the resident.", permit=PARTY)
CONTRACT.command("resume", ResumeRequest, TicketReply, "The resident answered: the SLA clock runs again.", permit=PARTY)
CONTRACT.command("resolve", ResolveRequest, TicketReply, "The handler resolves it, with the price-list items used and the funding source.", permit=HANDLER)
CONTRACT.command("rate", RateRequest, TicketReply, "The resident confirms and rates 1-5; the ticket closes.", permit=RESIDENT)
CONTRACT.command("reopen", ReopenRequest, TicketReply, "The resident is not satisfied: back to the handler.", permit=RESIDENT)
CONTRACT.command("close", CloseRequest, TicketReply, "A worker closes a resolved ticket the resident did not confirm.", permit=STAFF)
CONTRACT.command("cancel", CancelRequest, TicketReply, "The resident or a worker cancels an open ticket.", permit=PARTY)
CONTRACT.command("escalate", EscalateRequest, TicketReply, "Climb one level of the ladder on request.", permit=PARTY)
CONTRACT.command("follow", FollowRequest, TicketReply, "The resident follows the original instead of a duplicate.", permit=RESIDENT)
CONTRACT.command("merge", MergeRequest, TicketReply, "A worker merges a duplicate into the original.", permit=STAFF)
CONTRACT.command("set_price_list", SetPriceListRequest, PriceListReply, "Replace the district's (or a company's) repair price list (维修费用清单).",
                 permit=Permit.holding("company_manager", "district_officer", "housing_officer", within="company_id",
                                       rule="a company's manager sets its own list; a district or housing officer "
                                            "the district's list or any company's"))
CONTRACT.command("sweep", SweepRequest, SweepReply, "Run the SLA sweep now: mark at-risk and breached tickets, escalate breaches.",
                 permit=Permit.holding("operator", rule="the release's operator"))
CONTRACT.query("get", GetTicketRequest, TicketReply, "One ticket with its full history.", permit=VIEWER)
CONTRACT.query("list", ListTicketsRequest, TicketList, "Tickets by status, place, handler, resident or SLA state (newest first).",
               permit=Permit.person("a resident lists their own tickets, a handler's person its unit's, a worker or "
                                    "official those of the places their posts cover", actor="viewer.person"))
CONTRACT.query("catalogue", CatalogueRequest, CatalogueReply, "The district's service categories and SLA classes.",
               permit=Permit.public("anyone: the district's published catalogue"))
CONTRACT.query("price_list", PriceListRequest, PriceListReply, "The repair price list in force (a company's, else the district's).",
               permit=Permit.public("anyone: price lists are published (物业服务收费公示)"))
CONTRACT.query("stats", StatsRequest, StatsReply, "Response, resolution and satisfaction rates (三率), on-time rate, mean times.",
               permit=Permit.public("anyone: counts and rates, no person in them"))
CONTRACT.query("monthly_summary", MonthlySummaryRequest, MonthlySummaryReply, "A complex's problems of the month: the monthly meeting's agenda.",
               permit=Permit.public("anyone: the monthly meeting's agenda names categories and buildings, no person"))
CONTRACT.query("fund_usage", FundUsageRequest, FundUsageReply, "Emergency repair fund spent on a complex's common parts.",
               permit=Permit.public("anyone: the use of the emergency repair fund is published to the owners"))
for _event in (TicketCreated, TicketDispatched, TicketAccepted, TicketRejected, TicketEscalated, TicketResolved,
               TicketRated, TicketReopened, TicketClosed, TicketCancelled, DisputeReferred, SlaBreached):
    CONTRACT.event(_event)
