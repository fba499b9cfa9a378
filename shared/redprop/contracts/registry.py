"""Contract of the registry service: the city's governance map.

Entities (each a record with a ``kind``; the same shapes are used to import, upsert and read):
  region        the administrative tree above complexes: city > district > subdistrict/town > community
  complex       小区: certificate, fee and fund flags, year built, property company
  grid          网格 / micro-grid, in a community (optionally inside one complex)
  building      楼栋, in a complex and a grid, with a location
  household     户: exclusive floor area (m², exact decimal) and owners
  organisation  party organisations (four levels), property companies, committees, departments,
                enterprises (location, relocation date), paired units, volunteer teams, public bodies
  person        people (owners, leaders, officials, volunteers)
  role          a post a person holds, in an organisation and/or over a scope, with a term
  report        a party member's or public body's reporting (报到) to a community
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from redprop.contracts.base import (
    CommandRequest,
    Contract,
    DistrictCode,
    Event,
    ExactlyOne,
    GeoPoint,
    Id,
    Name,
    Page,
    Permit,
    Reply,
    Request,
    ServiceContract,
)

CONTRACT = ServiceContract(
    service="registry",
    version="1.3.0",
    summary="The governance map: administrative tree, complexes, grids, buildings, households, "
            "organisations, people and roles. Answers `resolve` for every other service.",
)

# -- vocabularies --------------------------------------------------------------------------------

RegionLevel = Literal["city", "district", "subdistrict", "town", "community"]
#: Which level each level's parent must be.
REGION_PARENT: dict[str, tuple[str, ...]] = {
    "city": (),
    "district": ("city",),
    "subdistrict": ("district",),
    "town": ("district",),
    "community": ("subdistrict", "town"),
}

OrganisationKind = Literal[
    "community_party_committee",   # 社区党委 / 居民区党支部 (level 1)
    "complex_party_branch",        # 小区党支部 (level 2)
    "grid_party_group",            # 网格党小组 (level 3)
    "party_member_household",      # 党员中心户 (level 4)
    "company_party_branch",        # a property company's own party branch
    "property_company",
    "owners_committee",            # 业委会
    "self_management_committee",   # 自管会
    "property_management_committee",  # 物管会
    "residents_committee",         # 居委会
    "department",                  # functional departments: housing, power, water, police...
    "enterprise",
    "paired_unit",                 # 结对共建 unit
    "volunteer_team",
    "public_body",                 # bodies that report (报到) to the community
]
PARTY_LEVELS: dict[str, tuple[str, ...]] = {
    # organisation kind -> kinds its parent may be
    "complex_party_branch": ("community_party_committee",),
    "grid_party_group": ("complex_party_branch", "community_party_committee"),
    "party_member_household": ("grid_party_group",),
    "company_party_branch": ("community_party_committee", "property_company"),
}
COMMITTEE_KINDS = ("owners_committee", "self_management_committee", "property_management_committee")

DepartmentFunction = Literal[
    "housing", "water", "power", "gas", "heating", "telecom", "police", "urban_management",
    "sanitation", "market_regulation", "civil_affairs", "other",
]

RoleKind = Literal[
    "building_leader",            # 楼组长
    "second_building_leader",     # 党员第二楼组长 (a party member)
    "red_property_specialist",    # 红色物业专员
    "grid_head",                  # 网格长
    "grid_member",                # 网格员
    "judge", "prosecutor", "police_officer", "mediator",  # with grid head/member: 三官两长两员
    "committee_chair", "committee_member",
    "party_secretary", "party_committee_member",
    "company_manager", "company_staff",
    "department_contact",
    "volunteer",
    # officials of the hub and of government (since 1.1): who may act in the services (docs/authorisation.md)
    "community_worker",           # 社区工作者: the community hub's workbench
    "subdistrict_officer",        # 街道(镇)干部
    "district_officer",           # 区级干部 (the district's hub, the city's matching decisions)
    "housing_officer",            # 房管部门: certifies star ratings (with a housing department)
    "data_officer",               # keeps the governance map and answers residents' data requests (PIPL)
    "operator",                   # runs the release: dead letters, keys, maintenance
]
#: The roles that make up a grid service team (网格服务小组).
GRID_TEAM_ROLES = ("grid_head", "grid_member", "building_leader", "second_building_leader",
                   "red_property_specialist")
#: "Three officials, two heads, two members" (三官两长两员): the kinds of mediator.
MEDIATOR_ROLES = ("judge", "prosecutor", "police_officer", "grid_head", "grid_member", "mediator")
#: Role groups the permits name (docs/authorisation.md).
WORKER_ROLES = ("community_worker", "grid_head", "grid_member", "red_property_specialist")
OFFICIAL_ROLES = ("community_worker", "subdistrict_officer", "district_officer")
COMPANY_ROLES = ("company_manager", "company_staff")
COMMITTEE_ROLES = ("committee_chair", "committee_member")
PARTY_COMMITTEE_ROLES = ("party_secretary", "party_committee_member")

EntityKind = Literal["region", "complex", "grid", "building", "household", "organisation", "person",
                     "role", "report"]
#: Import and upsert order: a kind may refer only to kinds before it (or to itself, for regions/orgs).
ENTITY_ORDER: tuple[str, ...] = ("region", "organisation", "complex", "grid", "building", "person",
                                 "household", "role", "report")

Area = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=10, decimal_places=2)]
#: Where an exclusive part's area comes from, in the order of the interpretation's Art. 8.
AreaSource = Literal["register", "survey", "contract"]
AREA_SOURCES: tuple[str, ...] = ("register", "survey", "contract")
#: The voting person of the developer's unsold or undelivered parts (Art. 9: together one person).
DEVELOPER_PERSON = "developer"


# -- records -------------------------------------------------------------------------------------


class EntityRecord(Contract):
    """Common to every entity. ``district`` is filled by the registry; if given it must match."""

    id: Id
    district: DistrictCode | None = None


class RegionRecord(EntityRecord):
    kind: Literal["region"] = "region"
    level: RegionLevel
    name: Name
    parent_id: Id | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class ComplexRecord(EntityRecord):
    kind: Literal["complex"] = "complex"
    name: Name
    community_id: Id
    address: str | None = Field(default=None, max_length=300)
    year_built: int | None = Field(default=None, ge=1900, le=2100)
    has_property_certificate: bool = True   # 产证
    has_property_fee: bool = True           # residents pay a property fee
    has_maintenance_fund: bool = True       # 维修基金
    property_company_id: Id | None = None   # None: no property company
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class GridRecord(EntityRecord):
    kind: Literal["grid"] = "grid"
    name: Name
    community_id: Id
    complex_id: Id | None = None
    micro: bool = False  # a micro-grid (微网格)


class BuildingRecord(EntityRecord):
    kind: Literal["building"] = "building"
    name: Name
    complex_id: Id
    grid_id: Id
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    floors: int | None = Field(default=None, ge=1, le=200)


class HouseholdRecord(EntityRecord):
    """An exclusive part (专有部分). Its area is counted as the SPC interpretation on building differentiated
    ownership, Art. 8, says: the area in the real-estate register; if not registered, the surveyed area; if
    not surveyed, the area in the sales contract. Give the areas you have and ``area_m2``/``area_source``
    follow from them; or give ``area_m2`` with its ``area_source`` (``register`` when left out)."""

    kind: Literal["household"] = "household"
    building_id: Id
    unit: str = Field(min_length=1, max_length=40, description="Unit and room, e.g. 2-502")
    area_m2: Area | None = Field(default=None, description="Exclusive floor area in m² as counted (Art. 8), exact "
                                                           "(a decimal string on the wire); derived when omitted")
    area_source: AreaSource | None = Field(default=None, description="Where area_m2 comes from (Art. 8 order)")
    register_area_m2: Area | None = Field(default=None, description="Area in the real-estate register (不动产登记簿)")
    survey_area_m2: Area | None = Field(default=None, description="Surveyed area (测绘面积)")
    contract_area_m2: Area | None = Field(default=None, description="Area in the sales contract (买卖合同)")
    #: The developer's unsold, or sold but undelivered, part: all such parts count as one person (Art. 9).
    developer_unsold: bool = False
    owner_ids: list[Id] = Field(default_factory=list, max_length=20)
    residents: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="before")
    @classmethod
    def _art8_area(cls, data: Any) -> Any:
        # Interpretation Art. 8: the first of register, survey, contract that is known is the counted area.
        # A contradiction (an area_m2 or area_source against that order) is left for the writer to report
        # by row and field; here only what is missing is filled.
        if isinstance(data, dict):
            for source in AREA_SOURCES:
                value = data.get(f"{source}_area_m2")
                if value is not None:
                    data = {**data}
                    if data.get("area_m2") is None:
                        data["area_m2"] = value
                    if data.get("area_source") is None:
                        data["area_source"] = source
                    break
            else:
                if data.get("area_m2") is not None and data.get("area_source") is None:
                    data = {**data, "area_source": "register"}
        return data

    @field_validator("owner_ids")
    @classmethod
    def _distinct_owners(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an owner is listed twice")
        return value


class OrganisationRecord(EntityRecord):
    kind: Literal["organisation"] = "organisation"
    org_kind: OrganisationKind
    name: Name
    parent_id: Id | None = None
    #: The region, complex, grid or building the organisation serves or sits in.
    scope_id: Id | None = None
    has_party_branch: bool = False
    department_function: DepartmentFunction | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    relocation_date: date | None = None  # enterprises leaving the area (e.g. for a metro line)

    @model_validator(mode="after")
    def _department_has_function(self):
        if self.org_kind == "department" and self.department_function is None:
            raise ValueError("a department needs a department_function")
        if self.org_kind != "department" and self.department_function is not None:
            raise ValueError("only departments have a department_function")
        return self


class PersonRecord(EntityRecord):
    """A person. ``phone`` and ``id_card`` are personal data (PIPL): encrypted at rest, and masked in
    replies (``139****0001``) unless the reading ``viewer_id`` may see them (since 1.2)."""

    kind: Literal["person"] = "person"
    name: Name
    party_member: bool = False
    phone: str | None = Field(default=None, pattern=r"^(\+?[0-9 -]{5,20}|[0-9]{3}\*+[0-9]{2,4}|\*+[0-9]{2})$")
    #: 居民身份证号 (18 characters, or the old 15 digits); since 1.2.
    id_card: str | None = Field(default=None, pattern=r"^([0-9]{17}[0-9Xx]|[0-9]{15}|[0-9]{4}\*+[0-9]{3}[0-9Xx])$")


class RoleRecord(EntityRecord):
    kind: Literal["role"] = "role"
    person_id: Id
    role: RoleKind
    organisation_id: Id | None = None
    #: The region, complex, grid or building this post covers.
    scope_id: Id | None = None
    term_start: date
    term_end: date | None = None

    @model_validator(mode="after")
    def _term_order(self):
        if self.term_end is not None and self.term_end < self.term_start:
            raise ValueError("term_end is before term_start")
        if self.organisation_id is None and self.scope_id is None:
            raise ValueError("a role needs an organisation_id or a scope_id")
        return self

    def active_on(self, day: date) -> bool:
        return self.term_start <= day and (self.term_end is None or day <= self.term_end)


class ReportRecord(EntityRecord):
    """A party member (person) or a public body (organisation) reporting to a community (报到)."""

    kind: Literal["report"] = "report"
    reporter_id: Id
    community_id: Id
    reported_on: date
    #: For an in-service party member: the unit they work for.
    employer_id: Id | None = None


AnyRecord = Annotated[
    RegionRecord | ComplexRecord | GridRecord | BuildingRecord | HouseholdRecord | OrganisationRecord
    | PersonRecord | RoleRecord | ReportRecord,
    Field(discriminator="kind"),
]
RECORD_TYPES: dict[str, type[EntityRecord]] = {
    "region": RegionRecord, "complex": ComplexRecord, "grid": GridRecord, "building": BuildingRecord,
    "household": HouseholdRecord, "organisation": OrganisationRecord, "person": PersonRecord,
    "role": RoleRecord, "report": ReportRecord,
}


# -- resolve -------------------------------------------------------------------------------------


class Ref(Contract):
    id: Id
    name: str


class ComplexInfo(Ref):
    has_property_certificate: bool
    has_maintenance_fund: bool
    #: 三无: no property company, no owners' committee, no maintenance fund.
    three_no: bool
    year_built: int | None = None


class OrgRef(Ref):
    org_kind: OrganisationKind


class DepartmentRef(OrgRef):
    department_function: DepartmentFunction


class TeamMember(Contract):
    person_id: Id
    name: str
    role: RoleKind
    party_member: bool
    scope_id: Id | None = None


class GridTeam(Contract):
    grid_id: Id
    grid_name: str
    members: list[TeamMember]


class ResolveRequest(ExactlyOne):
    """Where is this? Give exactly one of building, household, complex or point."""

    one_of = ("building_id", "household_id", "complex_id", "point")

    building_id: Id | None = None
    household_id: Id | None = None
    complex_id: Id | None = None
    point: GeoPoint | None = None
    #: For a point: the nearest building within this distance is used.
    max_distance_m: float = Field(default=300, gt=0, le=5000)


class ResolveReply(Reply):
    district: DistrictCode
    matched_by: Literal["building", "household", "complex", "point"]
    #: For a point: how far the matched building is.
    distance_m: float | None = None
    household: Ref | None = None
    building: Ref | None = None
    complex: ComplexInfo
    #: The building's grid; for a complex, its grid if it has exactly one.
    grid: Ref | None = None
    grids: list[Ref] = Field(default_factory=list)
    community: Ref
    subdistrict: Ref
    district_region: Ref
    grid_team: GridTeam | None = None
    property_company: OrgRef | None = None
    committee: OrgRef | None = None
    party_organisation: OrgRef | None = None
    #: Functional departments responsible here (by function), nearest scope first.
    departments: list[DepartmentRef] = Field(default_factory=list)


# -- reads ---------------------------------------------------------------------------------------


class GetRequest(Request):
    kind: EntityKind
    id: Id
    #: Who reads (a registry person id): personal data is shown to a data officer, a community worker of
    #: the person's community and the person; masked for anyone else, or when not given (since 1.2).
    viewer_id: Id | None = None
    #: Why, for the access log, when the reply shows personal data.
    purpose: str | None = Field(default=None, max_length=200)


class GetReply(Reply):
    record: AnyRecord


class ListRequest(Page):
    kind: EntityKind
    #: Only entities inside this region, complex, grid or building (at any depth).
    within: Id | None = None
    org_kind: OrganisationKind | None = None
    role: RoleKind | None = None
    #: Roles only: active on this day (default: today).
    active_on: date | None = None
    #: As for ``get``: who reads, and why (since 1.2).
    viewer_id: Id | None = None
    purpose: str | None = Field(default=None, max_length=200)
    #: Households only: those this person owns, alone or with others (since 1.3; a resident's own homes).
    owner_id: Id | None = None


class ListReply(Reply):
    items: list[AnyRecord]
    total: int


class ElectorateRequest(ExactlyOne):
    """The owners who vote in a consultation: the households of a complex, or of some buildings."""

    one_of = ("complex_id", "building_ids")

    complex_id: Id | None = None
    building_ids: list[Id] | None = Field(default=None, min_length=1, max_length=5000)


class Voter(Contract):
    """One exclusive part of the electorate, with the voting person it belongs to."""

    household_id: Id
    building_id: Id
    unit: str
    area_m2: Decimal
    area_source: AreaSource = "register"
    owner_ids: list[Id]
    developer_unsold: bool = False
    #: The voting person (Art. 9) this part counts under: parts sharing an owner are one person, the
    #: developer's unsold parts are the person ``developer``; None for a part with no owner on record.
    person_id: str | None = None


class ElectorateReply(Reply):
    district: DistrictCode
    households: list[Voter]
    #: The sum of the parts' areas (Art. 8), every part counted.
    total_area_m2: Decimal
    #: Voting persons (Art. 9): one per exclusive part, but co-owners of a part are one person, a buyer of
    #: several parts is one person, and the developer's unsold or undelivered parts together are one.
    total_owners: int
    #: Parts with someone to vote for them (the per-flat count, reported beside the persons).
    households_with_owners: int = 0
    #: Total area per source (register, survey, contract), so a tally says how its area was measured.
    area_by_source: dict[str, Decimal] = Field(default_factory=dict)
    #: How heads and areas were counted, citing the articles.
    counted_as: str = ""


class GridTeamRequest(Request):
    grid_id: Id
    on: date | None = None


class GridTeamReply(Reply):
    team: GridTeam


class CrossAppointmentsRequest(Page):
    on: date | None = None


class Post(Contract):
    role_id: Id
    role: RoleKind
    organisation_id: Id | None = None
    organisation_name: str | None = None
    scope_id: Id | None = None
    term_start: date
    term_end: date | None = None


class CrossAppointment(Contract):
    person_id: Id
    name: str
    party_member: bool
    organisations: list[Id]
    posts: list[Post]


class CrossAppointmentsReply(Reply):
    people: list[CrossAppointment]
    total: int


class SummaryRequest(Request):
    pass


class CommunitySummary(Contract):
    id: Id
    name: str
    parent_name: str
    complexes: int
    grids: int
    buildings: int
    households: int
    residents: int


class SummaryReply(Reply):
    district: DistrictCode
    counts: dict[str, int]
    communities: list[CommunitySummary]
    structure_version: int


# -- changes -------------------------------------------------------------------------------------


class RowError(Contract):
    """One problem in an import or upsert: which row, which field, why."""

    source: str
    row: int
    kind: str | None = None
    id: str | None = None
    field: str
    message: str


class ChangeCounts(Contract):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


class ChangeReport(Reply):
    """The outcome of an upsert or import: what was written (nothing, if any row was invalid)."""

    district: DistrictCode
    applied: bool
    counts: dict[str, ChangeCounts]
    errors: list[RowError]
    #: Errors beyond the first 1,000 are counted here but not listed.
    more_errors: int = 0
    structure_version: int


class UpsertRequest(CommandRequest):
    #: The data officer making the change (since 1.1). In an empty registry the first upsert may appoint its
    #: own actor as the district's data officer (the only change anyone may make before one exists).
    actor: Id
    records: list[AnyRecord] = Field(min_length=1, max_length=50_000)
    #: Write the valid records and report the rest, instead of writing nothing when any is invalid.
    valid_only: bool = False


class ImportRequest(CommandRequest):
    actor: Id
    format: Literal["json", "csv"]
    #: For CSV: the kind of every row. JSON datasets say it per section.
    kind: EntityKind | None = None
    content: str = Field(min_length=1, max_length=64 * 1024 * 1024)
    valid_only: bool = False

    @model_validator(mode="after")
    def _csv_needs_kind(self):
        if self.format == "csv" and self.kind is None:
            raise ValueError("a CSV import needs the kind of its rows")
        return self


class RemoveRequest(CommandRequest):
    actor: Id
    kind: EntityKind
    id: Id


class RemoveReply(Reply):
    removed: bool
    structure_version: int


class GrantsRequest(Request):
    """The posts a person holds on a day: what every service checks a permit against (docs/authorisation.md)."""

    person_id: Id
    on: date | None = Field(default=None, description="Beijing date; absent: today.")


class Grant(Contract):
    role: RoleKind
    role_id: Id
    organisation_id: Id | None = None
    organisation_kind: OrganisationKind | None = None
    #: The places the post covers: its scope, else its organisation's scope, else the whole district.
    covers: list[Id]


class GrantsReply(Reply):
    person_id: Id
    #: False: no such person in this district (a permit naming them is refused).
    known: bool
    party_member: bool = False
    grants: list[Grant] = []


class AncestryRequest(Request):
    """A place, household or organisation and everything above it on the governance map."""

    id: Id


class AncestryReply(Reply):
    id: Id
    kind: EntityKind
    #: The entity itself first, then each place above it up to the district.
    ancestry: list[Id]

# -- personal data (PIPL; since 1.2) ---------------------------------------------------------------


class AccessEntry(Contract):
    """One read of unmasked personal data, or one change of it."""

    at: datetime
    who: str
    action: Literal["read", "change", "export", "erase"]
    subject_id: Id
    #: Which fields, never their values.
    what: str
    why: str


class AccessLogRequest(Page):
    actor: Id
    subject_id: Id | None = None
    who: Id | None = None
    since: datetime | None = None


class AccessLogReply(Reply):
    district: DistrictCode
    items: list[AccessEntry]
    total: int


class ExportPersonRequest(Request):
    actor: Id
    person_id: Id
    purpose: str = Field(min_length=1, max_length=200, description="Why (the resident's request, its reference)")


class ExportPersonReply(Reply):
    """Everything the registry holds about a person (PIPL Art. 45), personal data unmasked."""

    district: DistrictCode
    person: PersonRecord
    erased_at: datetime | None = None
    roles: list[RoleRecord]
    households: list[HouseholdRecord]
    reports: list[ReportRecord]
    access_log: list[AccessEntry]


class ErasePersonRequest(CommandRequest):
    actor: Id
    person_id: Id
    reason: str = Field(min_length=1, max_length=200, description="Why (the resident's request, its reference)")


class ErasePersonReply(Reply):
    person_id: Id
    erased_at: datetime
    structure_version: int


# -- events --------------------------------------------------------------------------------------


class EntityChange(Contract):
    kind: EntityKind
    id: Id
    change: Literal["created", "updated", "removed"]


class StructureChanged(Event):
    """The governance map changed (entities created, updated or removed)."""

    event_type = "registry.structure_changed"
    structure_version: int
    counts: dict[str, ChangeCounts]
    #: Up to 1,000 changed entities; ``truncated`` says whether there were more.
    changes: list[EntityChange]
    truncated: bool = False


class RoleChange(Contract):
    role_id: Id
    person_id: Id
    role: RoleKind
    organisation_id: Id | None = None
    scope_id: Id | None = None
    change: Literal["appointed", "updated", "ended", "removed"]


class PersonErased(Event):
    """A person's personal data was erased on their request (since 1.2): every service blanks the contact
    data it holds about them (free text they wrote) and keeps the anonymised facts."""

    event_type = "registry.person_erased"
    person_id: Id


class RolesChanged(Event):
    """People were appointed to, changed in or removed from posts."""

    event_type = "registry.roles_changed"
    changes: list[RoleChange]
    truncated: bool = False


CONTRACT.query("resolve", ResolveRequest, ResolveReply,
               "From a building, household, complex or point: grid, community, subdistrict, district, "
               "grid service team, property company, committee, party organisation and departments.")
CONTRACT.query("get", GetRequest, GetReply, "One entity by kind and id.")
CONTRACT.query("list", ListRequest, ListReply, "Entities of a kind, optionally within a region/complex/grid/building.")
CONTRACT.query("electorate", ElectorateRequest, ElectorateReply,
               "Households with owners and exclusive areas, for owners' consultations (Civil Code Art. 278).")
CONTRACT.query("grid_team", GridTeamRequest, GridTeamReply, "A grid's service team on a day.")
CONTRACT.query("cross_appointments", CrossAppointmentsRequest, CrossAppointmentsReply,
               "People holding posts in two or more organisations (双向进入、交叉任职).")
CONTRACT.query("summary", SummaryRequest, SummaryReply, "Counts per kind and per community.")
CONTRACT.query("grants", GrantsRequest, GrantsReply,
               "The posts a person holds on a day and the places each covers (what permits are checked against).",
               permit=Permit.public("posts are public (公示), as on the grid team boards"))
CONTRACT.query("ancestry", AncestryRequest, AncestryReply,
               "A place, household or organisation and each place above it, up to the district.")
DATA_OFFICER = Permit.holding(
    "data_officer", rule="the district's data officer keeps the map (in an empty registry, the first upsert may "
                         "appoint its own actor as data officer)")
CONTRACT.command("upsert", UpsertRequest, ChangeReport,
                 "Create or update entities, atomically; invalid rows are reported by row and field.",
                 permit=DATA_OFFICER)
CONTRACT.command("import_dataset", ImportRequest, ChangeReport,
                 "Import a JSON dataset or a CSV file of one kind, with a validation report.", permit=DATA_OFFICER)
CONTRACT.command("remove", RemoveRequest, RemoveReply, "Remove an entity nothing refers to.",
                 permit=Permit.holding("data_officer", rule="the district's data officer"))
CONTRACT.query("access_log", AccessLogRequest, AccessLogReply,
               "Who read or changed whose personal data, when and why (PIPL Art. 51), newest first.",
               permit=Permit.holding("operator", "data_officer",
                                     rule="an operator or data officer of the district"))
CONTRACT.query("export_person", ExportPersonRequest, ExportPersonReply,
               "Everything the registry holds about a person, for their request to see or copy it (PIPL Art. 45).",
               permit=Permit.holding("data_officer", rule="a data officer of the district"))
CONTRACT.command("erase_person", ErasePersonRequest, ErasePersonReply,
                 "Erase a person's name, phone and ID card on their request (PIPL Art. 47), keeping the "
                 "anonymised facts (posts, ownership, reports) that statistics need; tells the services.",
                 permit=Permit.holding("data_officer", rule="a data officer of the district"))
CONTRACT.event(StructureChanged)
CONTRACT.event(RolesChanged)
CONTRACT.event(PersonErased)
