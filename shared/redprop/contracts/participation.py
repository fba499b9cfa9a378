"""Contract of the participation service: activities and turns, micro-points, party members' public
commitments, and the units and in-service members who report to a community.

- **Activities** (a greening day, a repair stall, a patrol) happen in a community, optionally in one of its
  complexes, in a time window, organised by a community worker or a party committee member; they may link
  to a ticket, a deliberation meeting, a consultation or a matching proposal. People sign up; the
  organiser checks them in once the activity has started and records each one's **turn**: hours and role
  (``volunteer``, ``party_member``, ``unit_staff``). A unit's staff member's turn counts for the unit.
- **Periods** are Beijing (Asia/Shanghai) years ``2026`` and months ``2026-03`` of the turn's time.
  "Volunteer turns this year" is ``totals(scope="community", id=..., period="2026", role="volunteer")``.
- **Micro-points** (微积分) are whole numbers in a double-entry ledger per district: every transaction's
  entries sum to zero; a person's balance is the sum of their account's entries (``balance`` lists
  them). Points are earned by rules (extension point ``participation.earning``) from turns and from the
  other services' events, once per fact; they are spent at a community's rewards catalogue, and an
  overdraft is refused. A district may let points expire at the end of the Nth Beijing year after they
  were earned (``services.participation.options.points_expire_after_years``); spending uses the oldest first.
- **Party members' commitments** (亮身份、亮承诺): a pledge with its responsibility list (党员责任清单), made
  by the party member themself; the three posts (三岗: 责任岗、示范岗、先锋岗), designated by the community's
  party committee with the criteria; tasks for pledgers and for reporting units and in-service members
  (在职党员/单位报到, the registry's ``report`` records), from the community's demand list, a ticket or
  the community's own list, done with hours (which become turns).
- **The board** of a community (or one complex) is public: names, posts, pledges, what was done. It
  never carries phone numbers or any other contact detail.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

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
from redprop.contracts.registry import PARTY_COMMITTEE_ROLES, WORKER_ROLES

CONTRACT = ServiceContract(
    service="participation",
    version="1.0",
    summary="Volunteers' and party members' turns, residents' micro-points, party members' public commitments, "
            "units reporting to a community.",
)

ActivityKind = Literal["greening", "cleaning", "repair", "patrol", "care", "culture", "meeting", "other"]
TurnRole = Literal["volunteer", "party_member", "unit_staff"]
LinkKind = Literal["ticket", "meeting", "consultation", "proposal"]
PostKind = Literal["responsibility", "model", "vanguard"]   # 责任岗、示范岗、先锋岗
TaskSource = Literal["need", "ticket", "community"]
TaskState = Literal["open", "done"]
AssigneeKind = Literal["member", "unit"]
Scope = Literal["person", "unit", "community", "district"]
#: A Beijing year ``2026`` or month ``2026-03``.
PeriodText = Annotated[str, Field(pattern=r"^20[0-9]{2}(-(0[1-9]|1[0-2]))?$")]
#: Hours of one turn: a quarter of an hour to a day.
Hours = Annotated[float, Field(gt=0, le=24, multiple_of=0.25)]
Points = Annotated[int, Field(ge=1, le=100_000)]

#: Who organises activities and hands out tasks in a community: its workers and party committee.
ORGANISERS = (*WORKER_ROLES, *PARTY_COMMITTEE_ROLES)


# -- activities and turns ------------------------------------------------------------------------


class Link(Contract):
    kind: LinkKind
    id: Id


class Activity(Record):
    id: Id
    kind: ActivityKind
    title: str
    community_id: Id
    complex_id: Id | None = None
    starts_at: Timestamp
    ends_at: Timestamp
    organiser_id: Id
    link: Link | None = None
    signed_up: int
    checked_in: int
    turns: int
    hours: float


class ActivityReply(Reply):
    activity: Activity


class CreateActivityRequest(CommandRequest):
    actor: Id
    kind: ActivityKind
    title: Name
    community_id: Id
    #: A complex of that community, if the activity is in one.
    complex_id: Id | None = None
    starts_at: Timestamp
    ends_at: Timestamp
    link: Link | None = None

    @model_validator(mode="after")
    def _window(self):
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class GetActivityRequest(Request):
    activity_id: Id


class ListActivitiesRequest(Page):
    community_id: Id | None = None
    period: PeriodText | None = None


class ActivityList(Reply):
    activities: list[Activity]
    total: int


class SignUpRequest(CommandRequest):
    #: The person signing up (themself).
    actor: Id
    activity_id: Id


class CheckInRequest(CommandRequest):
    #: The activity's organiser.
    actor: Id
    activity_id: Id
    person_id: Id


class Attendance(Contract):
    activity_id: Id
    person_id: Id
    signed_up_at: Timestamp | None = None
    checked_in_at: Timestamp | None = None


class AttendanceReply(Reply):
    attendance: Attendance


class RecordTurnRequest(CommandRequest):
    #: The activity's organiser.
    actor: Id
    activity_id: Id
    person_id: Id
    hours: Hours
    role: TurnRole
    #: For ``unit_staff``: the unit the person served for (the turn counts for it too).
    unit_id: Id | None = None

    @model_validator(mode="after")
    def _unit(self):
        if (self.role == "unit_staff") != (self.unit_id is not None):
            raise ValueError("unit_id is given exactly when role is unit_staff")
        return self


class Turn(Record):
    id: Id
    person_id: Id
    role: TurnRole
    hours: float
    community_id: Id
    complex_id: Id | None = None
    unit_id: Id | None = None
    activity_id: Id | None = None
    task_id: Id | None = None
    at: Timestamp
    #: Beijing year and month of ``at``.
    year: int
    month: str


class TurnReply(Reply):
    turn: Turn
    #: Points the turn earned its person (0 if none).
    points: int = 0


class ListTurnsRequest(Page):
    person_id: Id
    period: PeriodText | None = None


class TurnList(Reply):
    turns: list[Turn]
    total: int


class TotalsRequest(Request):
    scope: Scope
    #: A person, a unit, a community, or the district's code.
    id: Id
    period: PeriodText
    role: TurnRole | None = None


class RoleTotal(Contract):
    role: TurnRole
    turns: int
    hours: float


class TotalsReply(Reply):
    scope: Scope
    id: Id
    period: PeriodText
    role: TurnRole | None = None
    turns: int
    hours: float
    people: int
    by_role: list[RoleTotal]


# -- micro-points ----------------------------------------------------------------------------------


class Entry(Contract):
    transaction_id: Id
    kind: Literal["earn", "spend", "expire"]
    #: Signed: what the entry adds to the account.
    amount: int
    #: The rule or reward behind it, and the fact it answers (an event id, a turn, a redemption).
    reason: str
    source: str
    at: Timestamp


class BalanceRequest(Request):
    person_id: Id
    #: The last entries shown (all of them count in the balance).
    limit: int = Field(default=100, ge=0, le=5000)


class BalanceReply(Reply):
    person_id: Id
    balance: int
    earned: int
    spent: int
    expired: int
    #: Newest first.
    entries: list[Entry]
    entries_total: int


class Reward(Record):
    id: Id
    community_id: Id
    name: str
    cost: int
    #: None: unlimited.
    stock: int | None = None


class AddRewardRequest(CommandRequest):
    actor: Id
    community_id: Id
    name: Name
    cost: Points
    stock: int | None = Field(default=None, ge=0, le=1_000_000)


class RewardReply(Reply):
    reward: Reward


class ListRewardsRequest(Page):
    community_id: Id


class RewardList(Reply):
    rewards: list[Reward]
    total: int


class RedeemRequest(CommandRequest):
    #: The resident spending their own points.
    actor: Id
    reward_id: Id
    quantity: int = Field(default=1, ge=1, le=100)


class RedeemReply(Reply):
    redemption_id: Id
    reward: Reward
    quantity: int
    points: int
    balance: int


class ExpireRequest(CommandRequest):
    actor: Id
    #: Points earned in this Beijing year (and before) expire now, if the district's rule says so.
    year: int = Field(ge=2000, le=2100)


class ExpireReply(Reply):
    year: int
    people: int
    points: int


# -- party members' commitments, posts, reporting units and their tasks ---------------------------------


class PledgeRequest(CommandRequest):
    #: The party member pledging (themself).
    actor: Id
    community_id: Id
    complex_id: Id | None = None
    pledge: Text = Field(min_length=2, max_length=500)
    #: The responsibility list (党员责任清单): what they take on.
    responsibilities: list[Annotated[str, Field(min_length=2, max_length=200)]] = Field(default_factory=list,
                                                                                          max_length=20)


class Pledge(Record):
    id: Id
    person_id: Id
    community_id: Id
    complex_id: Id | None = None
    pledge: str
    responsibilities: list[str]
    made_at: Timestamp


class PledgeReply(Reply):
    pledge: Pledge


class DesignateRequest(CommandRequest):
    #: A member of the community's party committee.
    actor: Id
    community_id: Id
    person_id: Id
    post: PostKind
    year: int = Field(ge=2000, le=2100)
    criteria: Text = Field(min_length=2, max_length=1000)


class Designation(Record):
    id: Id
    person_id: Id
    community_id: Id
    post: PostKind
    year: int
    criteria: str
    decided_by: Id
    decided_at: Timestamp


class DesignationReply(Reply):
    designation: Designation


class AssignTaskRequest(CommandRequest):
    #: A worker or party committee member of the community.
    actor: Id
    community_id: Id
    #: A party member who pledged there, or a person or unit that reported there (registry ``report``).
    assignee_id: Id
    assignee_kind: AssigneeKind
    title: Name
    source: TaskSource = "community"
    #: The need (matching) or ticket the task answers; None for the community's own list.
    source_id: Id | None = None
    due_on: date | None = None

    @model_validator(mode="after")
    def _source(self):
        if (self.source == "community") != (self.source_id is None):
            raise ValueError("source_id is given exactly when source is need or ticket")
        return self


class CompleteTaskRequest(CommandRequest):
    #: The assignee (the person, or someone acting for the unit) or a worker of the community.
    actor: Id
    task_id: Id
    #: Who did the work, with their hours (each becomes a turn).
    people: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]] = Field(min_length=1,
                                                                                              max_length=100)
    hours: Hours
    note: Text | None = None


class Task(Record):
    id: Id
    community_id: Id
    assignee_id: Id
    assignee_kind: AssigneeKind
    title: str
    source: TaskSource
    source_id: Id | None = None
    due_on: date | None = None
    state: TaskState
    assigned_by: Id
    assigned_at: Timestamp
    done_at: Timestamp | None = None
    hours: float = 0
    note: str | None = None


class TaskReply(Reply):
    task: Task


class ListTasksRequest(Page):
    community_id: Id
    assignee_id: Id | None = None
    state: TaskState | None = None


class TaskList(Reply):
    tasks: list[Task]
    total: int


class BoardRequest(Request):
    community_id: Id
    #: Only the pledges made for this complex.
    complex_id: Id | None = None
    #: The Beijing year of posts and of what was done (default: this year).
    year: int | None = Field(default=None, ge=2000, le=2100)


class BoardMember(Contract):
    """What a resident sees of a party member: name, posts, pledges, what was done. No contact details."""

    person_id: Id
    name: str
    posts: list[PostKind]
    pledges: list[str]
    responsibilities: list[str]
    tasks_done: int
    turns: int
    hours: float


class BoardUnit(Contract):
    """A unit or in-service party member reporting to the community, and what it did there."""

    id: Id
    name: str
    kind: AssigneeKind
    reported_on: date
    tasks_done: int
    hours: float


class BoardReply(Reply):
    community_id: Id
    community_name: str
    complex_id: Id | None = None
    year: int
    members: list[BoardMember]
    units: list[BoardUnit]
    volunteer_turns: int
    volunteer_hours: float


# -- events ------------------------------------------------------------------------------------------


class TurnRecorded(Event):
    event_type = "participation.turn_recorded"
    turn: Turn


class PointsEarned(Event):
    event_type = "participation.points_earned"
    person_id: Id
    points: int
    rule: str
    source: str


class PointsSpent(Event):
    event_type = "participation.points_spent"
    person_id: Id
    points: int
    reward_id: Id
    community_id: Id


class PledgeMade(Event):
    event_type = "participation.pledge_made"
    pledge: Pledge


class TaskDone(Event):
    event_type = "participation.task_done"
    task: Task


_ORGANISE = Permit.holding(*ORGANISERS, rule="a community worker or party committee member of the community",
                           within="community_id")
_ORGANISER = Permit.person("the activity's organiser (checked against the activity)")
_SELF = Permit.person("the person themself (actor is the person acting for their own record)")
_PARTY = Permit.holding(*PARTY_COMMITTEE_ROLES, rule="a member of the community's party committee",
                        within="community_id")

CONTRACT.command("create_activity", CreateActivityRequest, ActivityReply,
                 "Organise an activity in a community (or one of its complexes), optionally linked to a ticket, "
                 "meeting, consultation or matching proposal.", permit=_ORGANISE)
CONTRACT.query("get_activity", GetActivityRequest, ActivityReply, "One activity with its counts.",
               permit=Permit.public("activities are public"))
CONTRACT.query("list_activities", ListActivitiesRequest, ActivityList, "Activities by community and period.",
               permit=Permit.public("activities are public"))
CONTRACT.command("sign_up", SignUpRequest, AttendanceReply, "A person the registry knows signs up for an activity.",
                 permit=Permit.person("any person the registry knows, signing up themself"))
CONTRACT.command("check_in", CheckInRequest, AttendanceReply,
                 "The organiser checks a person in, once the activity has started.", permit=_ORGANISER)
CONTRACT.command("record_turn", RecordTurnRequest, TurnReply,
                 "The organiser records a checked-in person's turn: hours and role; points follow the earning rules.",
                 permit=_ORGANISER)
CONTRACT.query("list_turns", ListTurnsRequest, TurnList, "A person's turns, newest first.",
               permit=Permit.public("turns are public service (names, hours), like the board"))
CONTRACT.query("totals", TotalsRequest, TotalsReply,
               "Turns and hours of a person, unit, community or the district in a Beijing year or month.",
               permit=Permit.public("aggregates"))
CONTRACT.query("balance", BalanceRequest, BalanceReply, "A person's micro-points balance explained by its entries.",
               permit=Permit.public("a person's balance (the gateway shows residents only their own)"))
CONTRACT.command("add_reward", AddRewardRequest, RewardReply, "Add a reward to a community's catalogue.",
                 permit=_ORGANISE)
CONTRACT.query("list_rewards", ListRewardsRequest, RewardList, "A community's rewards catalogue.",
               permit=Permit.public("the catalogue is public"))
CONTRACT.command("redeem", RedeemRequest, RedeemReply,
                 "A resident spends their own points on a reward; an overdraft is refused.", permit=_SELF)
CONTRACT.command("expire_points", ExpireRequest, ExpireReply,
                 "Points earned in a year expire, if the district's rule says so (oldest spent first).",
                 permit=Permit.holding("district_officer", "operator", rule="the district's hub or its operator"))
CONTRACT.command("pledge", PledgeRequest, PledgeReply,
                 "A party member shows their identity and pledges (亮身份、亮承诺), with a responsibility list.",
                 permit=Permit.person("the party member themself (checked against the registry's party_member)"))
CONTRACT.command("designate_post", DesignateRequest, DesignationReply,
                 "The party committee designates a party member's responsibility, model or vanguard post.",
                 permit=_PARTY)
CONTRACT.command("assign_task", AssignTaskRequest, TaskReply,
                 "Give a pledger or a reporting unit or member a task from the demand list, a ticket or the "
                 "community's own list.", permit=_ORGANISE)
CONTRACT.command("complete_task", CompleteTaskRequest, TaskReply,
                 "The assignee or a community worker records a task done, with who worked and their hours.",
                 permit=Permit.person("the assignee (a person of the unit) or a worker of the community"))
CONTRACT.query("list_tasks", ListTasksRequest, TaskList, "A community's tasks by assignee and state.",
               permit=Permit.public("tasks are shown on the board"))
CONTRACT.query("board", BoardRequest, BoardReply,
               "A community's public board: party members' posts and pledges, reporting units, what was done.",
               permit=Permit.public("what any resident sees (no phone numbers)"))
for _event in (TurnRecorded, PointsEarned, PointsSpent, PledgeMade, TaskDone):
    CONTRACT.event(_event)
