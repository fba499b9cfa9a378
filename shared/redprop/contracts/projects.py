"""Contract of the projects service: funds and their ledger, projects with budgets, milestones and progress.

- **Money is in fen** (integers, 1 yuan = 100 fen) on the wire and in the ledger: no rounding anywhere.
- **Funds**: one per source (``special_renovation`` budget, yearly ``quality_improvement`` fund per complex,
  ``emergency_repair`` fund for common parts, ``maintenance`` fund where a complex has one, ``donation``),
  each with yearly allocations and a ledger. A draw beyond the balance is refused (``conflict``, field
  ``amount``); every movement names what it served (a project, a ticket or a decision).
- **Approval**: a draw above ``services.projects.options.approval_above`` (yuan, default 5,000) is held
  (the amount leaves the balance at once, so holds never overdraw) until the community (a
  ``community_worker``) and the subdistrict (a ``subdistrict_officer``) covering the fund have approved,
  two different people; a refusal gives the amount back. Emergency use of the maintenance fund is held for
  the same approvals whatever the amount and records its legal basis, Civil Code Art. 281 para. 2; other use
  of it needs the owners' decision (a mediation consultation, Art. 278 para. 1 (5)).
- **Tickets**: ticketing's ``resolve`` paid from the emergency repair fund calls ``draw_for_ticket`` before
  it commits; a refused draw refuses the resolve (docs/projects.md).
- **Projects** for one or more complexes: budget lines per fund, milestones, status, progress percent, a
  timeline of every change, links to tickets and to mediation's matters and consultations, a
  post-evaluation. A project with sub-projects takes its progress from them, weighted by budget; a
  programme (``three-year action plan 2022-2024``) from its top-level projects the same way.
- **Hearing and post-evaluation**: a project whose budget is above ``options.hearing_above`` (yuan) cannot
  start before a hearing meeting is recorded in a linked mediation matter, and no project closes before its
  post-evaluation (a meeting of a linked matter held after the work began). Both are verified with
  ``mediation.verify``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from redprop.contracts.base import (
    CommandRequest,
    Contract,
    Event,
    Id,
    Name,
    Page,
    Permit,
    Record,
    Reply,
    Request,
    ServiceContract,
    Text,
    Timestamp,
)

CONTRACT = ServiceContract(
    service="projects",
    version="1.1",
    summary="Funds per source with their ledger and approvals; projects with budgets, milestones, progress "
            "roll-up, links to tickets and mediation, CSV import.",
)

#: An amount in fen (1 yuan = 100 fen): never negative, at most 10^14 fen (1 trillion yuan).
Fen = Annotated[int, Field(ge=0, le=100_000_000_000_000)]
PositiveFen = Annotated[int, Field(gt=0, le=100_000_000_000_000)]
Year = Annotated[int, Field(ge=2000, le=2100)]
Percent = Annotated[int, Field(ge=0, le=100)]
FundKind = Literal["special_renovation", "quality_improvement", "emergency_repair", "maintenance", "donation"]
ProjectKind = Literal["renovation", "heating_network", "micro_renovation", "car_park", "culture_wall",
                      "courtyard", "greening", "access_control", "other"]
ProjectStatus = Literal["planned", "in_progress", "completed", "closed", "cancelled"]
MovementKind = Literal["allocation", "draw", "release"]
DrawStatus = Literal["paid", "pending_approval", "refused"]
ServesKind = Literal["project", "ticket", "decision"]
LinkKind = Literal["ticket", "matter", "consultation"]
ApprovalLevel = Literal["community", "subdistrict"]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]

#: Who creates programmes and funds and allocates money.
OFFICERS = ("district_officer", "subdistrict_officer")
#: Who records the work in a community.
RECORDERS = ("community_worker", "district_officer", "subdistrict_officer")


# -- funds -----------------------------------------------------------------------------------------


class Serves(Contract):
    """What a movement of money served."""

    kind: ServesKind
    id: Id


class Allocation(Contract):
    year: Year
    amount: Fen


class Fund(Record):
    id: Id
    kind: FundKind
    name: str
    #: The complex (per-complex funds) or the region (a district's or subdistrict's budget) it belongs to.
    scope_id: Id
    complex_id: Id | None = None
    community_id: Id | None = None
    subdistrict_id: Id | None = None
    balance: Fen
    allocated: Fen
    #: Paid out.
    drawn: Fen
    #: Held for draws awaiting approval (already out of the balance).
    held: Fen
    allocations: list[Allocation] = Field(default_factory=list)


class Approval(Contract):
    level: ApprovalLevel
    person_id: Id
    at: Timestamp


class Movement(Contract):
    id: Id
    fund_id: Id
    kind: MovementKind
    amount: Fen
    status: DrawStatus | None = None
    year: Year
    serves: Serves | None = None
    purpose: str
    #: The article a draw rests on (the maintenance fund's emergency use: Civil Code Art. 281 para. 2).
    legal_basis: str | None = None
    actor: Id
    at: Timestamp
    #: The balance right after this movement.
    balance_after: Fen
    approvals: list[Approval] = Field(default_factory=list)
    #: The levels still to approve (draws awaiting approval).
    awaiting: list[ApprovalLevel] = Field(default_factory=list)


class CreateFundRequest(CommandRequest):
    id: Id
    kind: FundKind
    name: Name
    #: A complex for per-complex funds (quality improvement, emergency repair, maintenance); else a region.
    scope_id: Id
    actor: Id


class FundReply(Reply):
    fund: Fund


class AllocateRequest(CommandRequest):
    fund_id: Id
    year: Year
    amount: PositiveFen
    purpose: Text = Field(default="", max_length=500)
    actor: Id


class DrawRequest(CommandRequest):
    fund_id: Id
    amount: PositiveFen
    serves: Serves
    purpose: Text = Field(min_length=2, max_length=500)
    #: Emergency use (the maintenance fund: Civil Code Art. 281 para. 2).
    emergency: bool = False
    #: The owners' decision to use the maintenance fund (a mediation consultation id), unless emergency.
    decision_id: Id | None = None
    year: Year | None = None
    actor: Id


class DrawForTicketRequest(CommandRequest):
    """Ticketing's resolve paid from the complex's emergency repair fund (request id: one per resolution)."""

    ticket_id: Id
    complex_id: Id
    amount: PositiveFen
    purpose: Text = Field(default="emergency repair of common parts", max_length=500)
    #: The person who resolved the ticket (ticketing's resolve actor).
    actor: Id


class DrawReply(Reply):
    movement: Movement
    fund: Fund


class DecideDrawRequest(CommandRequest):
    movement_id: Id
    level: ApprovalLevel
    note: Text | None = Field(default=None, max_length=500)
    actor: Id


class GetFundRequest(Request):
    fund_id: Id


class ListFundsRequest(Page):
    scope_id: Id | None = None
    complex_id: Id | None = None
    kind: FundKind | None = None


class FundList(Reply):
    funds: list[Fund]
    total: int


class LedgerRequest(Page):
    fund_id: Id | None = None
    serves_kind: ServesKind | None = None
    serves_id: Id | None = None
    status: DrawStatus | None = None


class LedgerReply(Reply):
    movements: list[Movement]
    total: int


# -- programmes and projects -------------------------------------------------------------------------


class Programme(Record):
    id: Id
    name: str
    scope_id: Id
    start_year: Year
    end_year: Year
    budget: Fen
    spent: Fen
    #: Budget-weighted over its top-level projects.
    progress: Percent
    projects: int


class CreateProgrammeRequest(CommandRequest):
    id: Id
    name: Name
    #: The district (or subdistrict) whose plan it is.
    scope_id: Id
    start_year: Year
    end_year: Year
    actor: Id

    @model_validator(mode="after")
    def _years(self):
        if self.end_year < self.start_year:
            raise ValueError("end_year is before start_year")
        return self


class ProgrammeRequest(Request):
    programme_id: Id


class ProgrammeReply(Reply):
    programme: Programme


class ListProgrammesRequest(Page):
    """Since 1.1: the district's programmes, for the district report's progress chart."""

    scope_id: Id | None = None


class ProgrammeList(Reply):
    programmes: list[Programme]
    total: int


class BudgetLine(Contract):
    fund_id: Id
    amount: PositiveFen


class BudgetLineInfo(Contract):
    fund_id: Id
    fund_kind: FundKind
    amount: Fen
    #: Paid from that fund for this project (the ledger's draws that served it).
    spent: Fen


class MilestoneInput(Contract):
    title: Name
    due_on: date


class Milestone(Contract):
    seq: int
    title: str
    due_on: date
    done_on: date | None = None


class ProjectLink(Contract):
    kind: LinkKind
    id: Id
    #: What the linked record is, as read from its service when linked (a matter's title, a ticket's category).
    title: str | None = None


class TimelineEntry(Contract):
    seq: int
    at: Timestamp
    actor: Id
    change: str
    detail: dict = Field(default_factory=dict)


class PostEvaluation(Contract):
    matter_id: Id
    meeting_id: Id
    summary: str
    #: Residents' satisfaction from the evaluation meeting, 0-100.
    satisfaction: Percent | None = None
    recorded_at: Timestamp


class Project(Record):
    id: Id
    name: str
    kind: ProjectKind
    complex_ids: list[Id]
    programme_id: Id | None = None
    parent_id: Id | None = None
    status: ProjectStatus
    starts_on: date
    ends_on: date | None = None
    #: The project's own (leaf) or rolled up from its sub-projects, weighted by budget.
    progress: Percent
    rolled_up: bool
    budget: Fen
    spent: Fen
    budget_lines: list[BudgetLineInfo]
    milestones: list[Milestone]
    links: list[ProjectLink]
    children: list[Id]
    timeline: list[TimelineEntry] = Field(default_factory=list)
    post_evaluation: PostEvaluation | None = None
    hearing_required: bool


class CreateProjectRequest(CommandRequest):
    id: Id
    name: Name
    kind: ProjectKind
    complex_ids: list[Id] = Field(min_length=1, max_length=200)
    programme_id: Id | None = None
    parent_id: Id | None = None
    starts_on: date
    ends_on: date | None = None
    budget_lines: list[BudgetLine] = Field(default_factory=list, max_length=20)
    milestones: list[MilestoneInput] = Field(default_factory=list, max_length=100)
    links: list[ProjectLink] = Field(default_factory=list, max_length=100)
    actor: Id

    @model_validator(mode="after")
    def _checks(self):
        if len(set(self.complex_ids)) != len(self.complex_ids):
            raise ValueError("complex_ids lists a complex twice")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class ProjectReply(Reply):
    project: Project


class ProjectRequest(Request):
    project_id: Id


class ListProjectsRequest(Page):
    complex_id: Id | None = None
    programme_id: Id | None = None
    status: ProjectStatus | None = None


class ProjectList(Reply):
    projects: list[Project]
    total: int


class AddMilestoneRequest(CommandRequest):
    project_id: Id
    title: Name
    due_on: date
    actor: Id


class RecordProgressRequest(CommandRequest):
    project_id: Id
    percent: Percent
    note: Text = Field(min_length=1, max_length=2000)
    #: Milestones (by seq) done with this progress.
    milestones_done: list[int] = Field(default_factory=list, max_length=100)
    actor: Id


class SetStatusRequest(CommandRequest):
    project_id: Id
    status: ProjectStatus
    note: Text = Field(default="", max_length=2000)
    actor: Id


class LinkRequest(CommandRequest):
    project_id: Id
    link: ProjectLink
    actor: Id


class PostEvaluationRequest(CommandRequest):
    project_id: Id
    matter_id: Id
    meeting_id: Id
    summary: Text = Field(min_length=2, max_length=5000)
    satisfaction: Percent | None = None
    actor: Id


class ImportProjectsRequest(CommandRequest):
    """A district's project list as CSV (UTF-8, header row): ``id,name,kind,complex_ids,starts_on,ends_on,
    programme_id,parent_id,fund_id,budget_yuan,progress`` (``complex_ids`` separated by ``;``; one budget line
    per row, a project's further lines on rows repeating its id). All or nothing."""

    csv: Annotated[str, StringConstraints(min_length=1, max_length=5_000_000)]
    actor: Id


class ImportProblem(Contract):
    #: The CSV line (the header is line 1).
    row: int
    field: str
    message: str


class ImportReply(Reply):
    applied: bool
    created: list[Id]
    problems: list[ImportProblem]


class ComplexSummaryRequest(Request):
    complex_id: Id


class SpentBySource(Contract):
    fund_kind: FundKind
    spent: Fen


class ComplexSummary(Reply):
    """What residents see: the complex's projects, money spent by source and what is next."""

    complex_id: Id
    projects: list[Project]
    spent_by_source: list[SpentBySource]
    next_milestones: list[Milestone]


# -- events ----------------------------------------------------------------------------------------


class FundMoved(Event):
    event_type = "projects.fund_moved"

    fund_id: Id
    fund_kind: FundKind
    movement_id: Id
    kind: MovementKind
    status: DrawStatus | None = None
    amount: Fen
    balance_after: Fen
    serves: Serves | None = None


class ProjectChanged(Event):
    """A project's status, progress or milestones changed (evaluation may count the company's part)."""

    event_type = "projects.project_changed"

    project_id: Id
    complex_ids: list[Id]
    change: str
    status: ProjectStatus
    progress: Percent
    milestone: str | None = None


CONTRACT.event(FundMoved)
CONTRACT.event(ProjectChanged)

_OFFICER = Permit.holding(*OFFICERS, rule="a district or subdistrict officer covering the scope",
                          within="scope_id")
_RECORDER = Permit.holding(*RECORDERS, rule="a community worker (or officer) whose post covers every complex of "
                           "the project (checked by the service)")
_APPROVER = Permit.holding("community_worker", "subdistrict_officer",
                           rule="community level: a community_worker, subdistrict level: a subdistrict_officer, "
                           "covering the fund; two different people (checked by the service)")

CONTRACT.command("create_fund", CreateFundRequest, FundReply, "Open a fund for one source.", permit=_OFFICER)
CONTRACT.command("allocate", AllocateRequest, DrawReply, "A year's allocation into a fund.",
                 permit=Permit.holding(*OFFICERS, rule="a district or subdistrict officer covering the fund "
                                       "(checked by the service)"))
CONTRACT.command("draw", DrawRequest, DrawReply,
                 "Draw from a fund for a project, ticket or decision: refused beyond the balance; held for "
                 "approval above the district's threshold.",
                 permit=Permit.holding(*RECORDERS, rule="a community worker or officer covering the fund "
                                       "(checked by the service)"))
CONTRACT.command("draw_for_ticket", DrawForTicketRequest, DrawReply,
                 "Ticketing's resolution paid from the complex's emergency repair fund.",
                 permit=Permit.holding("company_manager", "company_staff", "community_worker", "grid_head",
                                       "grid_member", "red_property_specialist",
                                       rule="whoever resolved the ticket: its handler's staff or the hub's "
                                       "workers covering the complex", within="complex_id"))
CONTRACT.command("approve_draw", DecideDrawRequest, DrawReply, "Approve a held draw at one level.",
                 permit=_APPROVER)
CONTRACT.command("refuse_draw", DecideDrawRequest, DrawReply, "Refuse a held draw: its amount goes back.",
                 permit=_APPROVER)
CONTRACT.query("get_fund", GetFundRequest, FundReply, "A fund with its balance and allocations.",
               permit=Permit.public("fund balances are public (公开)"))
CONTRACT.query("list_funds", ListFundsRequest, FundList, "Funds by scope, complex or source.",
               permit=Permit.public("fund balances are public (公开)"))
CONTRACT.query("ledger", LedgerRequest, LedgerReply, "Movements of money, newest first.",
               permit=Permit.public("every movement is public, with what it served"))
CONTRACT.command("create_programme", CreateProgrammeRequest, ProgrammeReply, "A district programme.",
                 permit=_OFFICER)
CONTRACT.query("get_programme", ProgrammeRequest, ProgrammeReply, "A programme with its rolled-up progress.",
               permit=Permit.public("programmes are public"))
CONTRACT.query("list_programmes", ListProgrammesRequest, ProgrammeList,
               "Programmes with their rolled-up progress, budget and spending (since 1.1).",
               permit=Permit.public("programmes are public"))
CONTRACT.command("create_project", CreateProjectRequest, ProjectReply,
                 "A project for one or more complexes, with budget lines, milestones and links.",
                 permit=Permit.holding(*OFFICERS, rule="a district or subdistrict officer covering every complex "
                                       "(checked by the service)"))
CONTRACT.command("add_milestone", AddMilestoneRequest, ProjectReply, "Add a milestone to a project.",
                 permit=_RECORDER)
CONTRACT.command("record_progress", RecordProgressRequest, ProjectReply,
                 "Record a leaf project's progress and milestones done.", permit=_RECORDER)
CONTRACT.command("set_status", SetStatusRequest, ProjectReply,
                 "Start, complete, close or cancel a project (hearing and post-evaluation rules).",
                 permit=_RECORDER)
CONTRACT.command("link", LinkRequest, ProjectReply, "Link a ticket, matter or consultation, checked at its source.",
                 permit=_RECORDER)
CONTRACT.command("record_post_evaluation", PostEvaluationRequest, ProjectReply,
                 "The evaluation after the project: a meeting of a linked mediation matter.", permit=_RECORDER)
CONTRACT.query("get_project", ProjectRequest, ProjectReply, "A project with its timeline.",
               permit=Permit.public("projects are public"))
CONTRACT.query("list_projects", ListProjectsRequest, ProjectList, "Projects by complex, programme or status.",
               permit=Permit.public("projects are public"))
CONTRACT.query("complex_summary", ComplexSummaryRequest, ComplexSummary,
               "Per complex: projects with progress, money spent by source and what is next.",
               permit=Permit.public("what residents see"))
CONTRACT.command("import_projects", ImportProjectsRequest, ImportReply,
                 "Import a district's project list from CSV; every problem names its row and field.",
                 permit=Permit.holding(*OFFICERS, rule="a district or subdistrict officer"))
