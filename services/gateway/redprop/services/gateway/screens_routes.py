"""Routes for the workbench's later screens (issue 19): matching proposals for the community's needs, the
open consultations of a complex, an owner's own part in one (their households and their ballot), and an
owner's own complexes with their consultations (so the vote screen never asks for a complex).

Each is a contract call or a few joined for one screen; the services' rules decide: who may decide a
proposal (matching's permit), who may vote (the consultation's electorate snapshot, Civil Code Art. 278
and the SPC interpretation's Art. 9: one voting person, one ballot, a later one superseding). The gateway
only narrows what a person is shown to their own (an owner sees their households, not the complex's).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from redprop.contracts import matching as matching_c
from redprop.contracts import mediation as mediation_c
from redprop.contracts import registry as registry_c
from redprop.contracts.base import Id
from redprop.errors import NotFound
from redprop.messaging import ServiceRpc
from redprop.services.gateway.bodies import (
    QueryModel,
    derive,
    idempotency_key,
    read_body,
    read_query,
)
from redprop.services.gateway.http import json_response, route
from redprop.services.gateway.participation_routes import caller_person

MATCHING_OPS = matching_c.CONTRACT.operations
MEDIATION_OPS = mediation_c.CONTRACT.operations
#: How many matters of a complex, needs and offers one screen joins (a community's lists are far shorter).
JOIN_LIMIT = 1000

#: Matching 2.0: a decline needs a reason (the contract's validator, which a derived model does not carry);
#: the document says so, so a schema-valid body is one the service takes.
DECLINE_SAYS_WHY = {"if": {"properties": {"decision": {"const": "decline"}}, "required": ["decision"]},
                    "then": {"required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 1}}}}
DecideBody = derive("DecideProposalBody", matching_c.DecideRequest, exclude={"proposal_id"},
                    schema_extra=DECLINE_SAYS_WHY)


class ProposalsQuery(QueryModel):
    status: matching_c.ProposalStatus | None = Field(default="proposed", description="Left out: proposed ones.")
    community_id: Id | None = Field(default=None, description="Only proposals for this community's needs.")
    limit: int = Field(default=100, ge=1, le=1000)


class ProposalView(BaseModel):
    """A proposal with the need and the offer it pairs, as the screen shows them."""

    proposal: matching_c.ProposalRecord
    need: matching_c.NeedRecord | None = None
    offer: matching_c.OfferRecord | None = None


class ProposalsReply(BaseModel):
    items: list[ProposalView]
    total: int


class ConsultationsQuery(QueryModel):
    complex_id: Id = Field(description="The complex whose owners' consultations are listed.")
    state: Literal["open", "closed", "any"] = Field(default="open", description="Left out: the open ones.")


class ConsultationsReply(BaseModel):
    items: list[mediation_c.ConsultationInfo]


class MyPart(BaseModel):
    household_id: str
    building_id: str
    unit: str
    area_m2: str


class MyVoteReply(BaseModel):
    """The caller's part in a consultation: their households in its complex and their effective ballot."""

    consultation: mediation_c.ConsultationInfo
    households: list[MyPart]
    ballot: mediation_c.BallotInfo | None = None
    #: Why the caller cannot vote (not an owner here, or the consultation is not open); None: they may.
    why_not: Literal["not_owner", "not_open"] | None = None


class MyConsultationsQuery(QueryModel):
    state: Literal["open", "closed", "any"] = Field(default="open", description="Left out: the open ones.")


class MyComplex(BaseModel):
    """A complex where the caller owns a part: their parts there and its owners' consultations."""

    complex: registry_c.Ref
    households: list[MyPart]
    consultations: list[mediation_c.ConsultationInfo]


class MyConsultationsReply(BaseModel):
    #: By complex name; empty when the caller owns no part in the district.
    complexes: list[MyComplex]


class MyHome(BaseModel):
    """A home the registry records the caller as an owner of (alone or with others)."""

    household_id: str
    unit: str
    building: registry_c.Ref
    complex: registry_c.Ref


class MyHomesReply(BaseModel):
    #: By complex name, building name and unit; empty when the caller owns no part in the district.
    homes: list[MyHome]


def _dump(reply) -> dict:
    return reply.model_dump(mode="json")


def _all(call, key: str, **query) -> list:
    """Every item of a paged list (a screen's join), up to JOIN_LIMIT."""
    items, offset = [], 0
    while len(items) < JOIN_LIMIT:
        page = call(limit=min(500, JOIN_LIMIT), offset=offset, **query)
        batch = getattr(page, key)
        items += batch
        offset += len(batch)
        if not batch or offset >= page.total:
            break
    return items


def _complex_consultations(mediation, complex_id: str, state: str) -> list[mediation_c.ConsultationInfo]:
    """A complex's owners' consultations (its matters'), soonest to close first."""
    items = []
    for matter in _all(mediation.find_matters, "items", complex_id=complex_id):
        for consultation_id in mediation.get_matter(matter_id=matter.id).matter.consultations:
            info = mediation.get_consultation(consultation_id=consultation_id).consultation
            if state == "any" or info.state == state:
                items.append(info)
    return sorted(items, key=lambda c: c.closes_at)


class ScreensRoutes:
    """Installed on GatewayService."""

    # -- matching proposals ---------------------------------------------------------------------------

    @route("GET", "/api/v1/proposals", "listProposals", "Workers only; each with its need and offer, "
           "optionally only those for one community's needs.", tags=("matching",),
           operation=MATCHING_OPS["list_proposals"], permission="matching.read", query=ProposalsQuery,
           reply=ProposalsReply)
    def screens_proposals(self, request, principal):
        query = read_query(request, ProposalsQuery)
        proposals = self.matching.list_proposals(status=query.status, limit=query.limit).proposals
        # A decided pair's need may be met or cancelled since: every status is joined, not only open ones.
        needs = {n.id: n for n in _all(self.matching.list_needs, "needs", status=None)}
        offers = {o.id: o for o in _all(self.matching.list_offers, "offers", status=None)}
        items = [ProposalView(proposal=p, need=needs.get(p.need_id), offer=offers.get(p.offer_id))
                 for p in proposals]
        if query.community_id:
            items = [i for i in items if i.need is not None and i.need.community_id == query.community_id]
        return json_response(_dump(ProposalsReply(items=items, total=len(items))))

    @route("POST", "/api/v1/proposals/{proposal_id}/decide", "decideProposal",
           "The caller decides for the side named (a community's worker for its need).", tags=("matching",),
           operation=MATCHING_OPS["decide"], permission="matching.decide", body=DecideBody,
           reply=matching_c.ProposalReply, idempotent_key=True)
    def screens_decide(self, request, principal, proposal_id):
        fields = read_body(request, DecideBody).model_dump(mode="json", exclude_unset=True)
        reply = self.matching.decide(actor=caller_person(principal), proposal_id=proposal_id,
                                     request_id=idempotency_key(request), **fields)
        return json_response(_dump(reply))

    # -- consultations of a complex, and an owner's part in one -----------------------------------------

    @route("GET", "/api/v1/consultations", "listConsultations",
           "A complex's owners' consultations (its matters' consultations), the open ones by default.",
           tags=("consultations",), operation=MEDIATION_OPS["find_matters"], permission="consultations.read",
           query=ConsultationsQuery, reply=ConsultationsReply)
    def screens_consultations(self, request, principal):
        query = read_query(request, ConsultationsQuery)
        self.registry.get(kind="complex", id=query.complex_id)  # 404 for an unknown complex
        return json_response(_dump(ConsultationsReply(items=_complex_consultations(self.mediation, query.complex_id,
                                                                                          query.state))))

    @route("GET", "/api/v1/my/consultations", "listMyConsultations",
           "The caller's own: the complexes where the registry records them as an owner (alone or with "
           "others), their parts there, and each complex's owners' consultations (the open ones by default). "
           "Nobody else's homes can be asked for: the caller is the person.", tags=("consultations",),
           permission="consultations.vote", query=MyConsultationsQuery,
           reply=MyConsultationsReply)
    def screens_my_consultations(self, request, principal):
        query = read_query(request, MyConsultationsQuery)
        person = caller_person(principal)
        # Registry 1.3: the households this person owns; the electorate of each consultation still decides.
        owned = _all(self.registry.list, "items", kind="household", owner_id=person)
        by_complex: dict[str, MyComplex] = {}
        for household in owned:
            where = self.registry.resolve(household_id=household.id)
            mine = by_complex.setdefault(where.complex.id, MyComplex(
                complex=registry_c.Ref(id=where.complex.id, name=where.complex.name), households=[],
                consultations=[]))
            mine.households.append(MyPart(household_id=household.id, building_id=household.building_id,
                                          unit=household.unit, area_m2=str(household.area_m2)))
        for complex_id, mine in by_complex.items():
            mine.consultations = _complex_consultations(self.mediation, complex_id, query.state)
        complexes = sorted(by_complex.values(), key=lambda c: (c.complex.name, c.complex.id))
        return json_response(_dump(MyConsultationsReply(complexes=complexes)))

    @route("GET", "/api/v1/my/homes", "listMyHomes",
           "The caller's own homes: the households the registry records them as an owner of (alone or with "
           "others), with their building and complex, so that a resident's request starts from home. Nobody "
           "else's can be asked for: the caller is the person.", tags=("places",), permission="me",
           reply=MyHomesReply)
    def screens_my_homes(self, request, principal):
        person = caller_person(principal)
        homes = []
        for household in _all(self.registry.list, "items", kind="household", owner_id=person):  # registry 1.3
            where = self.registry.resolve(household_id=household.id)
            homes.append(MyHome(household_id=household.id, unit=household.unit, building=where.building,
                                complex=registry_c.Ref(id=where.complex.id, name=where.complex.name)))
        homes.sort(key=lambda h: (h.complex.name, h.building.name, h.unit, h.household_id))
        return json_response(_dump(MyHomesReply(homes=homes)))

    @route("GET", "/api/v1/consultations/{consultation_id}/my-vote", "getMyVote",
           "The caller's households in the consultation's complex and their effective ballot (the latest, "
           "which supersedes any earlier one); why they cannot vote, if so.", tags=("consultations",),
           operation=MEDIATION_OPS["ballots"], permission="consultations.vote", reply=MyVoteReply)
    def screens_my_vote(self, request, principal, consultation_id):
        person = caller_person(principal)
        consultation = self.mediation.get_consultation(consultation_id=consultation_id).consultation
        if consultation.complex_id is None:
            raise NotFound.entity("consultation", consultation_id, "consultation_id")
        voters = self.registry.electorate(complex_id=consultation.complex_id).households
        mine = [MyPart(household_id=v.household_id, building_id=v.building_id, unit=v.unit,
                       area_m2=str(v.area_m2)) for v in voters if person in v.owner_ids]
        ballot = None
        for part in mine:
            for cast in _all(self.mediation.ballots, "items", consultation_id=consultation_id,
                             household_id=part.household_id):
                if cast.superseded_by is None and (ballot is None or cast.seq > ballot.seq):
                    ballot = cast
        why_not = "not_owner" if not mine else ("not_open" if consultation.state != "open" else None)
        return json_response(_dump(MyVoteReply(consultation=consultation, households=mine, ballot=ballot,
                                               why_not=why_not)))


def install(service_cls: type) -> None:
    """Add the matching proxy and these entrypoints to the gateway's class."""
    service_cls.matching = ServiceRpc("matching")
    for name, member in vars(ScreensRoutes).items():
        if callable(member) and not name.startswith("_"):
            setattr(service_cls, name, member)
