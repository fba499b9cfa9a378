"""Contract of the mediation service: disputes, four-party deliberation, owners' consultations and the
tamper-evident record log.

Concepts:
  case          a dispute (纠纷): parties, mediators (三官两长两员) the parties accept or object to (People's
                Mediation Law Art. 23), sessions, an outcome (agreement, failure with a referral, or
                withdrawal), time limits; a case can be referred up a level with its history
  agreement     a mediation agreement (调解协议, Art. 28-30): oral (recorded) or written with Art. 29's contents,
                effective once every party and a mediator signed and the committee sealed; the 30-day window
                for judicial confirmation (Art. 33) on Beijing dates, and the court application and its ruling
  matter        a deliberation item (四方议事) moving through research -> symposium -> consultation ->
                decision -> publication -> implementation -> post_evaluation; skipping is a recorded decision
  meeting       a deliberation or joint meeting: agenda, attendance, organisations present, minutes
  consultation  a written solicitation of owners (征询) on a Civil Code Art. 278 matter (items 1-9) over a
                snapshot of the registry's electorate; one effective ballot per voting person (SPC
                interpretation Art. 9); decided by the rule the matter takes (items 6-8: 3/4), never a weaker one
  record        an entry of the per-district, append-only, hash-chained log; ``verify`` proves it unaltered

Fractions cross the wire as exact strings ("2/3"); areas as decimal strings. Nothing is a float.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, Field, StringConstraints, field_validator, model_validator

from redprop.contracts.base import (
    CommandRequest,
    Contract,
    DistrictCode,
    Event,
    ExactlyOne,
    Id,
    Month,
    Name,
    Page,
    Permit,
    Reply,
    Request,
    ServiceContract,
    Text,
    Timestamp,
)
from redprop.contracts.registry import (
    COMMITTEE_ROLES,
    MEDIATOR_ROLES,
    PARTY_COMMITTEE_ROLES,
    WORKER_ROLES,
)

CONTRACT = ServiceContract(
    service="mediation",
    version="2.4.0",
    summary="Dispute mediation, four-party deliberation, owners' consultations under Civil Code Art. 278, "
            "and an append-only hash-chained record log with verification.",
)

# -- vocabularies --------------------------------------------------------------------------------

Level = Literal["grid", "community", "subdistrict", "district"]
#: The levels a case climbs when referred (refer_case): grid > community > subdistrict > district.
CASE_LADDER: tuple[str, ...] = ("grid", "community", "subdistrict", "district")
PartyKind = Literal["household", "person", "company", "committee", "organisation"]
#: "Three officials, two heads, two members" (三官两长两员), as registry role kinds.
MediatorKind = Literal["judge", "prosecutor", "police_officer", "grid_head", "grid_member", "mediator"]
CaseState = Literal["open", "mediating", "settled", "failed", "withdrawn"]
CASE_CLOSED_STATES = ("settled", "failed", "withdrawn")
ReferralTo = Literal["court", "arbitration", "department", "other"]
CaseSource = Literal["direct", "ticketing"]

Stage = Literal["research", "symposium", "consultation", "decision", "publication", "implementation",
                "post_evaluation"]
STAGES: tuple[str, ...] = ("research", "symposium", "consultation", "decision", "publication",
                           "implementation", "post_evaluation")
#: The parties to four-party deliberation (四方议事).
DeliberationParty = Literal["party_branch", "property_company", "owners_committee", "self_management_committee",
                            "building_leaders", "residents_committee"]
MeetingKind = Literal["deliberation", "symposium", "hearing", "joint_monthly", "joint_quarterly"]
#: online: cast by the owner; paper: a written ballot collected and entered by a worker; meeting: cast at an
#: owners' meeting and entered by a worker. Paper and meeting ballots need a witness.
BallotChannel = Literal["online", "paper", "meeting"]
#: Civil Code Art. 278 para. 1, items 1-9 (rules.ART278_ITEMS); items 6-8 are the major matters.
Art278Item = Annotated[int, Field(ge=1, le=9)]
ConsultationState = Literal["open", "closed", "published"]
RecordKind = Literal["case_opened", "session_minutes", "agreement", "case_outcome", "performance",
                     "party_added", "mediator_answer", "agreement_drafted", "signature", "case_referred",
                     "court_application", "court_ruling",
                     "matter_opened", "stage", "meeting", "material", "progress",
                     "consultation_opened", "ballot", "result", "publication"]
ReminderKind = Literal["settlement_due", "settlement_overdue", "court_confirmation", "performance_due",
                       "publication_due"]

#: An exact ratio on the wire, e.g. "2/3" or "1".
FractionText = Annotated[str, StringConstraints(pattern=r"^-?[0-9]+(/[0-9]+)?$")]
OptionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]
Url = AnyHttpUrl


# -- cases ---------------------------------------------------------------------------------------


Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
AgreementForm = Literal["written", "oral"]
SignerRole = Literal["party", "mediator", "committee"]
SignMethod = Literal["signature", "seal", "fingerprint"]
CourtOutcome = Literal["pending", "confirmed", "rejected", "withdrawn"]
MediatorAnswerKind = Literal["accept", "object", "choose"]


class Party(Contract):
    """A party to a dispute, with the particulars a written agreement states (Art. 29 item 1)."""

    kind: PartyKind
    id: Id
    name: Name | None = None
    #: Domicile or address (住所) of a person, seat of an organisation.
    address: Name | None = None
    #: Identity document or unified social credit code, as the party gives it.
    identity: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    #: As read by someone who may not see it (since 2.4), masked: ``139****0001``; never written so.
    phone: Annotated[str, StringConstraints(pattern=r"^([0-9+() -]{3,32}|[0-9]{3}\*+[0-9]{4}|\*+[0-9]{2})$")] | None = None
    #: The person who acts and signs for a household, company, committee or organisation.
    representative_id: Id | None = None


def unmasked(parties: list[Party]) -> list[Party]:
    """Parties as written: a masked phone number (what a reader without the right sees) is no number."""
    for party in parties:
        if party.phone is not None and "*" in party.phone:
            raise ValueError(f"party {party.id}: a masked phone number cannot be written; give the number")
    return parties


class AgreementTerm(Contract):
    """One term of a mediation agreement: what, who performs it, how, and by when."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    performer_id: Id = Field(description="The party (by id) that performs this term")
    method: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    due_on: date


class Responsibility(Contract):
    """One party's responsibility for the dispute (Art. 29 item 2), e.g. "无责任" (none)."""

    party_id: Id
    text: Line


class Agreement(Contract):
    """A mediation agreement (People's Mediation Law Art. 28, 29).

    Written (调解协议书): the disputed matters and every party's responsibility (Art. 29 item 2) are required;
    it takes effect once signed (sign_agreement, Art. 29/30). Oral: the mediator records its content
    (``oral_record``, Art. 28) and it takes effect when the parties reach it (Art. 30).
    """

    kind: Literal["agreement"] = "agreement"
    form: AgreementForm = "written"
    #: The main facts of the dispute (Art. 29 item 2).
    facts: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
    #: The disputed matters (争议事项, Art. 29 item 2).
    matters: list[Line] = Field(default_factory=list, max_length=50)
    responsibilities: list[Responsibility] = Field(default_factory=list, max_length=50)
    #: The content agreed, who performs it, how and by when (Art. 29 item 3).
    terms: list[AgreementTerm] = Field(min_length=1, max_length=50)
    #: An oral agreement's content as the mediator recorded it (Art. 28).
    oral_record: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)] | None = None

    @model_validator(mode="after")
    def _form(self):
        if self.form == "oral" and self.oral_record is None:
            raise ValueError("an oral agreement needs oral_record: the mediator records its content (Art. 28)")
        if self.form == "written" and not self.matters:
            raise ValueError("a written agreement states the disputed matters (matters, Art. 29 item 2)")
        if len({r.party_id for r in self.responsibilities}) != len(self.responsibilities):
            raise ValueError("a party's responsibility is listed twice")
        return self


class Failure(Contract):
    kind: Literal["failure"] = "failure"
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    referral: ReferralTo
    referred_to: Name | None = Field(default=None, description="The court, arbitration body or department")


class Withdrawal(Contract):
    kind: Literal["withdrawal"] = "withdrawal"
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    withdrawn_by: Id


Outcome = Annotated[Agreement | Failure | Withdrawal, Field(discriminator="kind")]


class MediatorRef(Contract):
    person_id: Id
    kind: MediatorKind
    role_id: Id
    open_cases: int = Field(description="Open cases this mediator had when assigned")


class SessionInfo(Contract):
    id: Id
    scheduled_at: Timestamp
    place: str | None = None
    held_at: Timestamp | None = None
    notes: str | None = None


class PerformanceInfo(Contract):
    term_no: int
    performed_on: date
    note: str | None = None


class MediatorAnswer(Contract):
    """A party accepted, objected to or chose a mediator (Art. 23)."""

    party_id: Id
    person_id: Id
    answer: MediatorAnswerKind
    reason: str | None = None
    at: Timestamp


class Signature(Contract):
    role: SignerRole
    #: The party's id, the mediator's person id, or (committee) the mediator who affixed its seal.
    signer_id: Id
    method: SignMethod
    signed_at: Timestamp
    #: The person recorded as acting (the party itself, its representative, the mediator).
    actor: Id


class CourtApplication(Contract):
    """The parties' joint application for judicial confirmation (Art. 33) and the court's ruling."""

    applied_on: date
    court: str
    applicants: list[Id]
    outcome: CourtOutcome = "pending"
    decided_on: date | None = None
    ruling_no: str | None = None
    note: str | None = None


class AgreementInfo(Contract):
    form: AgreementForm
    #: The agreement as drafted (an ``Agreement``): what is printed and signed.
    content: dict[str, Any]
    drafted_at: Timestamp
    #: When it took effect (the last required signature; an oral one when reached), None until then.
    effective_at: Timestamp | None = None
    #: The Beijing (Asia/Shanghai) date it took effect: the periods count from it.
    effective_on: date | None = None
    signatures: list[Signature] = Field(default_factory=list)
    #: Who still has to sign before it takes effect: "party:<id>", "mediator", "committee".
    missing: list[str] = Field(default_factory=list)
    #: Art. 33: effective_on + 30 days (the start day not counted, Civil Code Art. 201).
    confirm_period_ends_on: date | None = None
    #: The last day to apply for judicial confirmation: the period's end, moved past rest days and
    #: holidays to the next working day (Civil Code Art. 203).
    confirm_by: date | None = None
    court_application: CourtApplication | None = None


class CaseInfo(Contract):
    district: DistrictCode
    id: Id
    category: str
    summary: str
    description: str
    level: Level
    scope_id: Id
    source: CaseSource
    ticket_id: Id | None = None
    parties: list[Party]
    attachments: list[str]
    state: CaseState
    opened_at: Timestamp
    settle_by: Timestamp
    concluded_at: Timestamp | None = None
    outcome: dict[str, Any] | None = None
    #: For an agreement: the last day the parties may seek court confirmation (Art. 33; Beijing dates,
    #: Civil Code Art. 203's holiday rule).
    confirm_by: date | None = None
    mediators: list[MediatorRef] = Field(default_factory=list)
    mediator_answers: list[MediatorAnswer] = Field(default_factory=list)
    #: The agreement, drafted or in effect (None if there is none).
    agreement: AgreementInfo | None = None
    #: Earlier levels of a case that was referred up: [{"level", "scope_id", "referred_at", "reason"}].
    referrals: list[dict[str, Any]] = Field(default_factory=list)
    sessions: list[SessionInfo] = Field(default_factory=list)
    performance: list[PerformanceInfo] = Field(default_factory=list)


class OpenCaseRequest(CommandRequest):
    """Open a dispute case directly or from ticketing (idempotent on request_id, and on ticket_id)."""
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id

    category: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
    summary: Name
    description: Text = ""
    parties: list[Party] = Field(min_length=1, max_length=50)
    attachments: list[Url] = Field(default_factory=list, max_length=50)
    level: Level
    #: The grid, community or subdistrict the case sits at (a registry id).
    scope_id: Id
    source: CaseSource = "direct"
    ticket_id: Id | None = Field(default=None, description="The ticket this dispute came from")
    opened_at: Timestamp | None = None
    #: Overrides the time-limit policy's settlement window.
    settle_within_days: int | None = Field(default=None, ge=1, le=365)

    @field_validator("parties")
    @classmethod
    def _distinct_parties(cls, value: list[Party]) -> list[Party]:
        if len({p.id for p in value}) != len(value):
            raise ValueError("a party is listed twice")
        return unmasked(value)

    @model_validator(mode="after")
    def _ticket_source(self):
        if (self.source == "ticketing") != (self.ticket_id is not None):
            raise ValueError("a case from ticketing needs its ticket_id, and only such a case has one")
        return self


class CaseReply(Reply):
    case: CaseInfo
    #: False when a case already existed for the same ticket and was returned instead.
    created: bool = True


#: Since 2.4 (PIPL): who reads a case. The parties' addresses, identity documents and phone numbers, and the
#: numbers in the case's description, are shown to the case's mediators, a worker or officer whose post covers
#: its scope, a data officer of the district, and the parties themselves (or their representatives); to anyone
#: else, and when ``viewer_id`` is not given, they are masked.
ViewerId = Annotated[Id | None, Field(default=None, description="The registry person reading (PIPL masking)")]


class CaseRequest(Request):
    case_id: Id
    viewer_id: ViewerId = None


class ListCasesRequest(Page):
    state: CaseState | None = None
    level: Level | None = None
    scope_id: Id | None = None
    viewer_id: ViewerId = None


class ListCasesReply(Reply):
    items: list[CaseInfo]
    total: int


class AssignMediatorsRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    case_id: Id
    kinds: list[MediatorKind] = Field(min_length=1, max_length=7)
    #: Where to look for mediators in the registry (default: the case's scope).
    within: Id | None = None


class ScheduleSessionRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    case_id: Id
    scheduled_at: Timestamp
    place: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class RecordSessionRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    case_id: Id
    session_id: Id
    held_at: Timestamp
    notes: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class ConcludeCaseRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    case_id: Id
    outcome: Outcome
    concluded_at: Timestamp | None = None


class RecordPerformanceRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    case_id: Id
    term_no: int = Field(ge=1, description="1-based index into the agreement's terms")
    performed_on: date
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class AddPartyRequest(CommandRequest):
    """Add a party (a case from a ticket has only the resident: add the other side), or complete the
    particulars of one already on the case."""

    case_id: Id
    actor: Id
    party: Party

    @field_validator("party")
    @classmethod
    def _written(cls, value: Party) -> Party:
        return unmasked([value])[0]


class AnswerMediatorRequest(CommandRequest):
    """A party accepts or objects to a mediator of the case, or chooses one (Art. 23)."""

    case_id: Id
    actor: Id
    #: The party answering (default: the party the actor is or represents).
    party_id: Id | None = None
    person_id: Id = Field(description="The mediator (a registry person)")
    answer: MediatorAnswerKind
    reason: Line | None = Field(default=None, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _objection_reason(cls, value, info):
        if info.data.get("answer") == "object" and value is None:
            raise ValueError("an objection gives its reason")
        return value


class SignAgreementRequest(CommandRequest):
    """A signature, seal or fingerprint on the written agreement (Art. 29); the last one makes it effective."""

    case_id: Id
    actor: Id
    role: SignerRole
    #: party: the party's id (default: the party the actor is or represents); mediator / committee:
    #: the mediator's person id (default: the actor).
    signer_id: Id | None = None
    method: SignMethod = "signature"
    signed_at: Timestamp | None = None


class ReferCaseRequest(CommandRequest):
    """Refer a case up one level (grid > community > subdistrict > district), keeping its history."""

    case_id: Id
    actor: Id
    #: The community, subdistrict or district (a registry region) that takes the case over.
    scope_id: Id
    reason: Line


class CourtApplicationRequest(CommandRequest):
    """The parties jointly applied to a court for judicial confirmation (Art. 33)."""

    case_id: Id
    actor: Id
    applied_on: date
    court: Name
    #: Every party applies (共同申请): their ids.
    applicants: list[Id] = Field(min_length=1, max_length=50)


class CourtRulingRequest(CommandRequest):
    """The court's ruling on the application."""

    case_id: Id
    actor: Id
    outcome: Literal["confirmed", "rejected", "withdrawn"]
    decided_on: date
    ruling_no: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None = None
    note: Line | None = None


class StatisticsRequest(Request):
    #: Only cases opened on or after / before these instants.
    opened_from: Timestamp | None = None
    opened_to: Timestamp | None = None


class LevelStatistics(Contract):
    level: Level
    screened: int
    settled: int
    failed: int
    withdrawn: int
    in_progress: int
    #: settled / (settled + failed), exact; None when nothing has concluded.
    success_rate: FractionText | None = None
    success_percent: Decimal | None = None
    #: Mean days from opening to conclusion of concluded cases (exact decimal, 2 places).
    mean_days_to_settle: Decimal | None = None


class StatisticsReply(Reply):
    district: DistrictCode
    levels: list[LevelStatistics]
    total: LevelStatistics | None = None


# -- deliberation --------------------------------------------------------------------------------


class StageEntry(Contract):
    stage: Stage
    action: Literal["entered", "skipped"]
    at: Timestamp
    reason: str | None = None
    decided_by: Id | None = None


class MeetingInfo(Contract):
    id: Id
    matter_id: Id | None = None
    kind: MeetingKind
    held_at: Timestamp
    agenda: list[AgendaItem]
    attendance: list[Attendee]
    organisations: list[OrganisationPresent]
    minutes: str
    resolved: list[ResolvedItem]


class ProgressEntry(Contract):
    at: Timestamp
    percent: int
    note: str


class MatterInfo(Contract):
    district: DistrictCode
    id: Id
    title: str
    topic: str
    complex_id: Id | None = None
    parties: list[DeliberationParty]
    stage: Stage
    opened_at: Timestamp
    stages: list[StageEntry]
    meetings: list[MeetingInfo] = Field(default_factory=list)
    progress: list[ProgressEntry] = Field(default_factory=list)
    consultations: list[Id] = Field(default_factory=list)
    #: Dispute cases and tickets linked to this matter.
    links: list[Link] = Field(default_factory=list)


class Link(Contract):
    kind: Literal["ticket", "case", "matter"]
    id: Id


class AgendaItem(Contract):
    title: Name
    #: Where the item came from, e.g. a ticket or a case (supplied by the caller).
    links: list[Link] = Field(default_factory=list, max_length=50)


class Attendee(Contract):
    person_id: Id
    role: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class OrganisationPresent(Contract):
    party: DeliberationParty
    organisation_id: Id | None = None


class ResolvedItem(Contract):
    """An item a (joint) meeting resolved, with the tickets and disputes behind it."""

    title: Name
    links: list[Link] = Field(default_factory=list, max_length=50)


MeetingInfo.model_rebuild()
MatterInfo.model_rebuild()


class OpenMatterRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    title: Name
    topic: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
    complex_id: Id | None = None
    parties: list[DeliberationParty] = Field(min_length=2, max_length=6)
    links: list[Link] = Field(default_factory=list, max_length=50)
    opened_at: Timestamp | None = None

    @field_validator("parties")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a party is listed twice")
        return value


class MatterReply(Reply):
    matter: MatterInfo


class MatterRequest(Request):
    matter_id: Id


class FindMattersRequest(Page):
    #: Case-insensitive part of the title, e.g. "parking".
    title_contains: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    complex_id: Id | None = None


class MatterSummary(Contract):
    id: Id
    title: str
    topic: str
    complex_id: Id | None = None
    stage: Stage
    opened_at: Timestamp


class FindMattersReply(Reply):
    items: list[MatterSummary]
    total: int


class AdvanceMatterRequest(CommandRequest):
    """Move a matter forward to ``to_stage``. Stages in between are skipped only with a recorded reason."""
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id

    matter_id: Id
    to_stage: Stage
    skip_reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] | None = None
    decided_by: Id | None = None
    at: Timestamp | None = None


class RecordMeetingRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    #: None for a joint meeting that covers several matters.
    matter_id: Id | None = None
    kind: MeetingKind
    held_at: Timestamp
    agenda: list[AgendaItem] = Field(min_length=1, max_length=100)
    attendance: list[Attendee] = Field(default_factory=list, max_length=500)
    organisations: list[OrganisationPresent] = Field(default_factory=list, max_length=20)
    minutes: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000)]
    resolved: list[ResolvedItem] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _joint_or_matter(self):
        joint = self.kind in ("joint_monthly", "joint_quarterly")
        if not joint and self.matter_id is None:
            raise ValueError("a meeting other than a joint meeting belongs to a matter (matter_id)")
        return self


class MeetingReply(Reply):
    meeting: MeetingInfo


class DraftAgendaRequest(Request):
    """The monthly meeting's agenda drafted from ticketing's problem summary of a complex."""

    complex_id: Id
    month: Month


class DraftAgendaReply(Reply):
    complex_id: Id
    month: str
    agenda: list[AgendaItem]


class ListMeetingsRequest(Page):
    kind: MeetingKind | None = None
    held_from: Timestamp | None = None
    held_to: Timestamp | None = None


class ListMeetingsReply(Reply):
    items: list[MeetingInfo]
    total: int
    #: Resolved items over the listed meetings.
    resolved_items: int


class RecordProgressRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    matter_id: Id
    percent: int = Field(ge=0, le=100)
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    at: Timestamp | None = None


class AddMaterialRequest(CommandRequest):
    """Attach a material (a survey, a notice, a photo) to a matter or a case; it enters the log."""
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id

    matter_id: Id
    title: Name
    url: Url
    #: The material's own SHA-256, if the caller has it, so the log proves the file too.
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


# -- consultations -------------------------------------------------------------------------------


class ConsultationOption(Contract):
    id: OptionId
    label: Name


class RatioInfo(Contract):
    """part / whole, exact, and as a rounded percentage for people."""

    part: str
    whole: str
    ratio: FractionText
    percent: Decimal


class RuleCheck(Contract):
    name: str
    value: FractionText
    threshold: FractionText
    comparison: Literal[">", ">="]
    passed: bool


class ConsultationResult(Contract):
    #: The Civil Code Art. 278 item decided (None for a consultation opened before contract 2.0).
    art278_item: int | None = None
    rule: str
    rule_description: str
    passed: bool
    #: Which check decided it (the first failing one), or all passing.
    decided_by: str
    explanation: str
    total_area_m2: Decimal
    total_owners: int
    participating_area_m2: Decimal
    participating_owners: int
    approving_area_m2: Decimal
    approving_owners: int
    participation_by_area: RatioInfo
    participation_by_headcount: RatioInfo
    approval_by_area: RatioInfo
    approval_by_headcount: RatioInfo
    checks: list[RuleCheck]
    #: Effective ballots per option: persons, the parts (households) they cover, and area.
    options: dict[str, dict[str, str]]
    #: Effective ballots entered from paper (and, in ``ballots_by_channel``, per channel).
    paper_ballots: int
    superseded_ballots: int
    ballots_by_channel: dict[str, int] = Field(default_factory=dict)
    #: How heads and areas were counted (SPC interpretation Arts. 8 and 9), and the area per source.
    counted_as: str = ""
    area_by_source: dict[str, Decimal] = Field(default_factory=dict)
    #: Closed before closes_at because the outcome could no longer change (see ``close_consultation``).
    closed_early: bool = False


class ConsultationInfo(Contract):
    district: DistrictCode
    id: Id
    matter_id: Id
    complex_id: Id | None = None
    art278_item: int | None = None
    question: str
    options: list[ConsultationOption]
    approve_option: OptionId
    rule: str
    opens_at: Timestamp
    closes_at: Timestamp
    state: ConsultationState
    electorate_households: int
    total_area_m2: Decimal
    total_owners: int
    #: The log record holding the electorate snapshot's digest.
    electorate_digest: str
    closed_at: Timestamp | None = None
    publish_by: Timestamp | None = None
    published_at: Timestamp | None = None
    result: ConsultationResult | None = None


class OpenConsultationRequest(CommandRequest):
    """Open an owners' consultation on a Civil Code Art. 278 matter; the matter decides the rule."""

    #: The person opening it: an owners' committee member or a community worker of the complex.
    actor: Id
    matter_id: Id
    #: Civil Code Art. 278 para. 1, the matter decided: 1 rules of procedure, 2 management statute,
    #: 3 electing the committee, 4 hiring or dismissing the property company, 5 using the maintenance fund,
    #: 6 raising it, 7 rebuilding, 8 changing the use of common parts or running a business on them, 9 other.
    art278_item: Art278Item
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    options: list[ConsultationOption] = Field(min_length=2, max_length=20)
    approve_option: OptionId
    #: Left out: the item's rule (art278_major for items 6-8, art278_ordinary otherwise). Named: a rule that
    #: asks at least as much as the item's; a weaker one is refused.
    rule: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")] | None = None
    #: No earlier than now (a consultation opens no earlier than it is created); left out: now.
    opens_at: Timestamp | None = None
    closes_at: Timestamp
    #: The complex whose owners vote (the electorate, from the registry) ...
    complex_id: Id
    #: ... or only some of its buildings (a matter of those buildings' common parts).
    building_ids: list[Id] | None = Field(default=None, min_length=1, max_length=5000)

    @model_validator(mode="after")
    def _checks(self):
        ids = [o.id for o in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("an option id is listed twice")
        if self.approve_option not in ids:
            raise ValueError("approve_option must be one of the options")
        if self.opens_at is not None and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


class ConsultationReply(Reply):
    consultation: ConsultationInfo


class ConsultationRequest(Request):
    consultation_id: Id


class CastBallotRequest(CommandRequest):
    #: Online: the owner voting (= owner_id). Paper or meeting: the worker entering it (= entered_by).
    actor: Id
    consultation_id: Id
    #: One of the voting person's parts; the ballot is the person's, for all their parts (Art. 9).
    household_id: Id
    #: The owner casting the ballot; must be an owner of one of the voting person's parts.
    owner_id: Id
    option: OptionId
    channel: BallotChannel = "online"
    #: For a paper or meeting ballot: the worker who collected and entered it.
    entered_by: Id | None = None
    #: For a paper or meeting ballot: who witnessed it (not the worker, not the owner).
    witness_id: Id | None = None
    #: Online: left out (the ballot is cast when it arrives). Paper: the day it was collected, within the window.
    cast_at: Timestamp | None = None

    @model_validator(mode="after")
    def _paper_has_clerk(self):
        if (self.channel != "online") != (self.entered_by is not None):
            raise ValueError("a paper or meeting ballot needs entered_by (the worker), and only such a ballot has one")
        return self



class BallotInfo(Contract):
    id: Id
    consultation_id: Id
    household_id: Id
    #: The voting person (Art. 9) whose ballot this is; None for a ballot cast before contract 2.0.
    person_id: str | None = None
    owner_id: Id
    option: OptionId
    channel: BallotChannel
    entered_by: Id | None = None
    witness_id: Id | None = None
    cast_at: Timestamp
    #: Order of arrival within the consultation.
    seq: int
    superseded_by: Id | None = None
    record_seq: int


class BallotReply(Reply):
    ballot: BallotInfo
    #: The earlier ballot of the same voting person this one supersedes.
    supersedes: Id | None = None


class BallotsRequest(Page):
    consultation_id: Id
    household_id: Id | None = None


class BallotsReply(Reply):
    items: list[BallotInfo]
    total: int


class CloseConsultationRequest(CommandRequest):
    #: An owners' committee member or a community worker of the consultation's complex.
    actor: Id
    consultation_id: Id
    #: The consultation's complex (whose committee or community worker closes it).
    complex_id: Id
    #: When the closing is recorded: not before ``closes_at``, unless the outcome is already decided
    #: whichever way those who have not voted would vote.
    at: Timestamp | None = None


class PublishResultRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    consultation_id: Id
    complex_id: Id
    published_at: Timestamp | None = None
    #: Where the result was posted (notice board, app).
    where: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class TallyReply(Reply):
    consultation_id: Id
    state: ConsultationState
    result: ConsultationResult


class RulesRequest(Request):
    pass


class RuleInfo(Contract):
    name: str
    description: str


class RulesReply(Reply):
    rules: list[RuleInfo]


# -- time limits and reminders -------------------------------------------------------------------


class Reminder(Contract):
    kind: ReminderKind
    subject: Literal["case", "consultation"]
    subject_id: Id
    due_at: Timestamp
    message: str


class RemindersRequest(Request):
    as_of: Timestamp | None = None


class RemindersReply(Reply):
    reminders: list[Reminder]


class SendRemindersRequest(CommandRequest):
    #: The person acting (since 1.2): see the operation's permit.
    actor: Id
    as_of: Timestamp | None = None


class SendRemindersReply(Reply):
    #: Reminders newly emitted as events (each reminder is emitted once).
    sent: list[Reminder]


# -- the record log ------------------------------------------------------------------------------


class LogRecord(Contract):
    district: DistrictCode
    seq: int
    kind: RecordKind
    matter_id: Id
    ref_id: Id
    recorded_at: Timestamp
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    #: Format 2 (since 2.2.0): the SHA-256 of the canonical payload, which the hash covers in its place:
    #: hash = sha256(prev|seq|district|kind|matter|ref|recorded_at|"sha256:"+payload_sha256). None: format 1,
    #: the hash covers the canonical payload itself.
    payload_sha256: str | None = None
    #: Set when the payload was redacted on an erasure request (PIPL Art. 47); it then no longer matches
    #: payload_sha256, which still proves the chain.
    redacted_at: Timestamp | None = None


class RecordsRequest(Page):
    """Everything behind a matter (or a case): its log records in order."""

    matter_id: Id
    kind: RecordKind | None = None


class RecordsReply(Reply):
    matter_id: Id
    items: list[LogRecord]
    total: int


class VerifyRequest(ExactlyOne):
    """Verify one record (and the log up to it), or every record of a matter (and the log up to the last)."""

    one_of = ("seq", "matter_id")

    seq: int | None = Field(default=None, ge=1)
    matter_id: Id | None = None


class VerifyFailure(Contract):
    seq: int
    kind: str
    ref_id: str
    reason: str


class VerifyReply(Reply):
    district: DistrictCode
    ok: bool
    #: Records whose hashes were recomputed (the chain from the first record up to the target).
    checked: int
    #: Stored domain rows compared against their logged content.
    cross_checked: int
    up_to_seq: int
    head_hash: str
    failures: list[VerifyFailure]


# -- events --------------------------------------------------------------------------------------


class CaseOpened(Event):
    event_type = "mediation.case_opened"
    case_id: Id
    level: Level
    scope_id: Id
    category: str
    source: CaseSource
    ticket_id: Id | None = None
    settle_by: Timestamp


class CaseConcluded(Event):
    event_type = "mediation.case_concluded"
    case_id: Id
    level: Level
    state: CaseState
    ticket_id: Id | None = None
    days_to_conclude: Decimal
    #: A failure's referral (court, arbitration, department), so a ticket closes with it.
    referral: ReferralTo | None = None
    referred_to: str | None = None


class MatterStageChanged(Event):
    event_type = "mediation.matter_stage_changed"
    matter_id: Id
    stage: Stage
    skipped: list[Stage] = Field(default_factory=list)


class DecisionMade(Event):
    """A consultation closed and its rule decided."""

    event_type = "mediation.decision_made"
    consultation_id: Id
    matter_id: Id
    rule: str
    passed: bool
    participation_by_area: FractionText
    participation_by_headcount: FractionText
    record_seq: int


class MeetingRecorded(Event):
    """Since 2.3: a meeting was recorded, with who attended (person ids only), so participation can credit
    attending a deliberation meeting."""

    event_type = "mediation.meeting_recorded"
    meeting_id: Id
    matter_id: Id | None = None
    kind: MeetingKind
    held_at: Timestamp
    attendee_ids: list[Id] = Field(default_factory=list)


class BallotCast(Event):
    """Since 2.3: a voting person cast (or re-cast) a ballot in a consultation. It names who voted and where,
    never the choice: the option stays in mediation's record log."""

    event_type = "mediation.ballot_cast"
    consultation_id: Id
    #: The voting person (Art. 9), or the owner who cast it where the electorate has no voting person.
    person_id: Id
    cast_at: Timestamp


class ReminderDue(Event):
    event_type = "mediation.reminder_due"
    reminder: Reminder


# -- operations ----------------------------------------------------------------------------------

#: Who may act on a case: its mediators and the hub's workers; the service checks that the post covers the
#: case's grid or community (mediation/access.py).
CASE_ROLES = (*MEDIATOR_ROLES, *WORKER_ROLES, "subdistrict_officer", "district_officer")
ON_CASE = Permit.holding(*CASE_ROLES, rule="a mediator of the case, or a worker or officer covering its scope")
#: Four-party deliberation (四方协商): the party organisation, the committee, the hub's workers.
MATTER_ROLES = (*WORKER_ROLES, *PARTY_COMMITTEE_ROLES, *COMMITTEE_ROLES, "party_secretary", "subdistrict_officer")
MATTER_RULE = "a worker, party committee or committee member covering the matter's complex"
ON_MATTER = Permit.holding(*MATTER_ROLES, rule=MATTER_RULE)
CONSULTATION_ROLES = (*COMMITTEE_ROLES, "community_worker", "subdistrict_officer")
#: Who runs a consultation: the owners' committee, or the community's workers.
_RUNNERS = ("community_worker", *COMMITTEE_ROLES)
#: Who may enter a paper or meeting ballot: the runners and the grid's workers of the consultation's complex,
#: and the street office's officers covering it (Civil Code Art. 277 para. 2: the local government's departments
#: and the residents' committee guide and assist the owners' assembly).
BALLOT_CLERKS: tuple[str, ...] = tuple(dict.fromkeys((*_RUNNERS, *WORKER_ROLES, "subdistrict_officer")))

CONTRACT.command("open_case", OpenCaseRequest, CaseReply,
                 "Open a dispute case (directly or from ticketing); idempotent on request_id and ticket_id.",
                 permit=Permit.holding(*CASE_ROLES, within="scope_id",
                                       rule="a mediator, grid or community worker, or officer covering the case's "
                                            "grid or community"))
CONTRACT.query("get_case", CaseRequest, CaseReply, "A case with its mediators, sessions and outcome.")
CONTRACT.query("list_cases", ListCasesRequest, ListCasesReply, "Cases by state, level and scope.")
CONTRACT.command("assign_mediators", AssignMediatorsRequest, CaseReply,
                 "Assign one mediator of each kind from the registry, least open cases first.", permit=ON_CASE)
CONTRACT.command("schedule_session", ScheduleSessionRequest, CaseReply, "Schedule a mediation session.", permit=ON_CASE)
CONTRACT.command("record_session", RecordSessionRequest, CaseReply, "Record that a session was held, with notes.",
                 permit=ON_CASE)
CONTRACT.command("conclude_case", ConcludeCaseRequest, CaseReply,
                 "Conclude with an agreement, a failure with referral, or a withdrawal.", permit=ON_CASE)
CONTRACT.command("record_performance", RecordPerformanceRequest, CaseReply,
                 "Follow-up: a term of the agreement was performed.", permit=ON_CASE)
_CASE_PEOPLE = ("the case's mediator, one of its parties (or a party's representative), or a community worker "
                "whose post covers the case's scope")
CONTRACT.command("add_party", AddPartyRequest, CaseReply,
                 "Add a party to an open case, or complete a party's particulars (Art. 29 item 1).",
                 permit=Permit.person(_CASE_PEOPLE))
CONTRACT.command("answer_mediator", AnswerMediatorRequest, CaseReply,
                 "A party accepts, objects to (the mediator leaves the case) or chooses a mediator (Art. 23).",
                 permit=Permit.person("a party to the case, or the person representing it"))
CONTRACT.command("sign_agreement", SignAgreementRequest, CaseReply,
                 "Sign or seal the written agreement; the last required signature makes it effective (Art. 29, 30).",
                 permit=Permit.person("a party signs for itself (or its representative); a mediator of the case "
                                      "signs and affixes the committee's seal"))
CONTRACT.command("refer_case", ReferCaseRequest, CaseReply,
                 "Refer an open case up one level with its history.",
                 permit=Permit.person("the case's mediator, or a community worker whose post covers the case's scope"))
CONTRACT.command("record_court_application", CourtApplicationRequest, CaseReply,
                 "Record the parties' joint application for judicial confirmation, within 30 days (Art. 33).",
                 permit=Permit.person(_CASE_PEOPLE))
CONTRACT.command("record_court_ruling", CourtRulingRequest, CaseReply,
                 "Record the court's ruling on the application for judicial confirmation.",
                 permit=Permit.person(_CASE_PEOPLE))
CONTRACT.query("statistics", StatisticsRequest, StatisticsReply,
               "Per level: screened, settled, in progress, success rate, time to settle.")
CONTRACT.command("open_matter", OpenMatterRequest, MatterReply, "Open a four-party deliberation matter.",
                 permit=Permit.holding(*MATTER_ROLES, within="complex_id", rule=MATTER_RULE))
CONTRACT.query("get_matter", MatterRequest, MatterReply, "A matter with its stages, meetings, progress.")
CONTRACT.query("find_matters", FindMattersRequest, FindMattersReply, "Matters by title or complex.")
CONTRACT.command("advance_matter", AdvanceMatterRequest, MatterReply,
                 "Move a matter to a later stage; skipped stages need a recorded reason.", permit=ON_MATTER)
CONTRACT.command("record_meeting", RecordMeetingRequest, MeetingReply,
                 "Record a deliberation or joint meeting: agenda, attendance, organisations, minutes.",
                 permit=ON_MATTER)
CONTRACT.query("draft_agenda", DraftAgendaRequest, DraftAgendaReply,
               "A monthly meeting's agenda from ticketing's problem summary: recurring, open, then resolved.")
CONTRACT.query("list_meetings", ListMeetingsRequest, ListMeetingsReply, "Meetings, e.g. the joint meetings of a quarter.")
CONTRACT.command("record_progress", RecordProgressRequest, MatterReply, "Implementation progress of a decision.",
                 permit=ON_MATTER)
CONTRACT.command("add_material", AddMaterialRequest, RecordsReply, "Attach a material to a matter; it enters the log.",
                 permit=ON_MATTER)
CONTRACT.query("voting_rules", RulesRequest, RulesReply, "The installed voting-rule plugins.")
CONTRACT.command("open_consultation", OpenConsultationRequest, ConsultationReply,
                 "Open an owners' consultation on an Art. 278 matter over a snapshot of the registry's electorate; "
                 "the matter decides the rule.",
                 permit=Permit.holding(*_RUNNERS, within="complex_id",
                                       rule="the owners' committee running it, or a community worker of the complex"))
CONTRACT.query("get_consultation", ConsultationRequest, ConsultationReply, "A consultation and its result.")
CONTRACT.command("cast_ballot", CastBallotRequest, BallotReply,
                 "A voting person's ballot; a later one supersedes an earlier one (history kept).",
                 permit=Permit.person("an owner casts their own ballot online; a worker or committee member of "
                                      "the complex enters a paper or meeting ballot with a witness"))
CONTRACT.query("ballots", BallotsRequest, BallotsReply, "Ballot history of a consultation or a household.")
CONTRACT.query("tally", ConsultationRequest, TallyReply, "The current count under the consultation's rule.")
CONTRACT.command("close_consultation", CloseConsultationRequest, ConsultationReply,
                 "Close after closes_at (or before, once the outcome is decided): the rule decides, the result "
                 "enters the log.",
                 permit=Permit.holding(*_RUNNERS, within="complex_id",
                                       rule="the owners' committee running it, or a community worker of the complex"))
CONTRACT.command("publish_result", PublishResultRequest, ConsultationReply,
                 "Record that the result was published (due within 3 days of closing).",
                 permit=Permit.holding(*_RUNNERS, within="complex_id",
                                       rule="the owners' committee running it, or a community worker of the complex"))
CONTRACT.query("due_reminders", RemindersRequest, RemindersReply, "Time limits due or overdue at an instant.")
CONTRACT.command("send_reminders", SendRemindersRequest, SendRemindersReply,
                 "Emit each due reminder once as a mediation.reminder_due event.",
                 permit=Permit.holding("operator", "community_worker", "subdistrict_officer",
                                       rule="the operator's schedule or a worker of the hub"))
CONTRACT.query("records", RecordsRequest, RecordsReply, "The log records behind a matter or a case, in order.")
CONTRACT.query("verify", VerifyRequest, VerifyReply,
               "Recompute the hash chain up to a record or a matter's last record and cross-check stored rows.")
CONTRACT.event(CaseOpened)
CONTRACT.event(CaseConcluded)
CONTRACT.event(MatterStageChanged)
CONTRACT.event(DecisionMade)
CONTRACT.event(ReminderDue)
CONTRACT.event(MeetingRecorded)
CONTRACT.event(BallotCast)
