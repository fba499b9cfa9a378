"""Reads the workbench needs that the REST API had no route for: a complex's monthly summary, a
consultation's live tally, mediation cases, the star-rating queue, the three rates, and places to pick.

Each stands for one contract query; the services' permits and rules apply as for any caller. The
gateway's role table lets every key read places and tallies; the workers' screens (cases, summaries,
ratings, rates) are for the community's workers only, checked here before the call.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from redprop.contracts import evaluation as evaluation_c
from redprop.contracts import mediation as mediation_c
from redprop.contracts import registry as registry_c
from redprop.contracts import ticketing as ticketing_c
from redprop.contracts.base import Id
from redprop.errors import PermissionDenied
from redprop.services.gateway.auth import WORKERS, Principal
from redprop.services.gateway.bodies import PageQuery, QueryModel, derive, read_query
from redprop.services.gateway.http import json_response, route
from redprop.services.gateway.participation_routes import caller_person

# Years 2000-2099 only (as fund_usage's year): ticketing's contract admits 0000-01, which its summary
# cannot compute (year 0 is out of range, a 500), so the gateway answers such a month 422 itself.
MonthlySummaryQuery = derive(
    "MonthlySummaryQuery", ticketing_c.MonthlySummaryRequest, base=QueryModel,
    month=(str, Field(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM, a month of 2000-2099")))
CasesQuery = derive("CasesQuery", mediation_c.ListCasesRequest, base=QueryModel)
RatingsQuery = derive("RatingsQuery", evaluation_c.ListRatingsRequest, base=QueryModel)
StatsQuery = derive("StatsQuery", ticketing_c.StatsRequest, base=QueryModel)


class PlacesQuery(PageQuery):
    """Places to pick from: a resident choosing the building of a request, a worker a filter."""

    kind: Literal["complex", "grid", "building"]
    within: Id | None = Field(default=None, description="Only places inside this region or complex.")


def _dump(reply) -> dict:
    return reply.model_dump(mode="json")


def _workers_only(principal: Principal, what: str) -> None:
    # Residents and handlers use their own screens; these lists span the community's people and firms.
    if principal.role not in WORKERS:
        raise PermissionDenied(f"only the community's workers see {what}", {"role": principal.role})


class WorkbenchRoutes:
    """Installed on GatewayService: the workbench's reads."""

    @route("GET", "/api/v1/places", "listPlaces", tags=("places",), operation=registry_c.CONTRACT.operations["list"],
           permission="places.read", query=PlacesQuery, reply=registry_c.ListReply)
    def workbench_places(self, request, principal):
        query = read_query(request, PlacesQuery)
        return json_response(_dump(self.registry.list(kind=query.kind, within=query.within, limit=query.limit,
                                                      offset=query.offset)))

    @route("GET", "/api/v1/monthly-summary", "getMonthlySummary", "Workers only.", tags=("tickets",),
           operation=ticketing_c.CONTRACT.operations["monthly_summary"], permission="tickets.read",
           query=MonthlySummaryQuery, reply=ticketing_c.MonthlySummaryReply)
    def workbench_summary(self, request, principal):
        _workers_only(principal, "a complex's monthly summary")
        query = read_query(request, MonthlySummaryQuery).model_dump(exclude_unset=True)
        return json_response(_dump(self.ticketing.monthly_summary(**query)))

    @route("GET", "/api/v1/ticket-stats", "getTicketStats", "Workers only.", tags=("tickets",),
           operation=ticketing_c.CONTRACT.operations["stats"], permission="tickets.read", query=StatsQuery,
           reply=ticketing_c.StatsReply)
    def workbench_stats(self, request, principal):
        _workers_only(principal, "the three rates")
        query = read_query(request, StatsQuery).model_dump(exclude_unset=True)
        return json_response(_dump(self.ticketing.stats(**query)))

    @route("GET", "/api/v1/consultations/{consultation_id}/tally", "getConsultationTally",
           tags=("consultations",), operation=mediation_c.CONTRACT.operations["tally"],
           permission="consultations.read", reply=mediation_c.TallyReply)
    def workbench_tally(self, request, principal, consultation_id):
        return json_response(_dump(self.mediation.tally(consultation_id=consultation_id)))

    @route("GET", "/api/v1/cases", "listCases", "Workers only.", tags=("mediation",),
           operation=mediation_c.CONTRACT.operations["list_cases"], permission="tickets.read", query=CasesQuery,
           reply=mediation_c.ListCasesReply)
    def workbench_cases(self, request, principal):
        _workers_only(principal, "mediation cases")
        query = read_query(request, CasesQuery).model_dump(exclude_unset=True)
        # Mediation 2.4 masks the parties' particulars unless this person may see them (PIPL).
        return json_response(_dump(self.mediation.list_cases(viewer_id=caller_person(principal), **query)))

    @route("GET", "/api/v1/star-ratings", "listStarRatings", "Workers only.", tags=("evaluation",),
           operation=evaluation_c.CONTRACT.operations["list_ratings"], permission="tickets.read",
           query=RatingsQuery, reply=evaluation_c.RatingList)
    def workbench_ratings(self, request, principal):
        _workers_only(principal, "the star-rating queue")
        query = read_query(request, RatingsQuery).model_dump(exclude_unset=True)
        return json_response(_dump(self.evaluation.list_ratings(**query)))


def install(service_cls: type) -> None:
    """Add these entrypoints to the gateway's class (after its own, as the ticket actions are)."""
    for name, member in vars(WorkbenchRoutes).items():
        if callable(member) and not name.startswith("_"):
            setattr(service_cls, name, member)
