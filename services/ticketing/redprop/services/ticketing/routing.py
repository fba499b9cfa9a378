"""Extension point ``ticketing.router``: who handles a ticket, at each level of the ladder.

The default rules (``default``):
  - at the grid level, by the category's handler kind:
      property company -> the complex's company; a complex without one (three-no) -> the grid service
      team, or the community if the building has no grid team;
      department -> the responsible department for the category's function, else the community;
      mediation -> the mediation service; grid team / community -> themselves;
  - a ticket escalated to the community, subdistrict or district goes to that level's office.
Among several eligible handlers the service picks the one with the fewest open tickets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from redprop.contracts.registry import ResolveReply
from redprop.contracts.ticketing import Category, Handler
from redprop.plugins import ExtensionPoint


@dataclass(frozen=True)
class RoutingContext:
    category: Category
    place: ResolveReply
    level: str


class Router(ABC):
    @abstractmethod
    def candidates(self, ctx: RoutingContext) -> list[Handler]:
        """Eligible handlers, best first; empty if a person must decide."""


class DefaultRouter(Router):
    def candidates(self, ctx: RoutingContext) -> list[Handler]:
        place = ctx.place
        if ctx.level == "community":
            return [Handler(kind="community", id=place.community.id, name=place.community.name)]
        if ctx.level == "subdistrict":
            return [Handler(kind="subdistrict", id=place.subdistrict.id, name=place.subdistrict.name)]
        if ctx.level == "district":
            return [Handler(kind="district", id=place.district_region.id, name=place.district_region.name)]
        return self._grid_level(ctx.category, place)

    def _grid_level(self, category: Category, place: ResolveReply) -> list[Handler]:
        kind = category.handler_kind
        community = Handler(kind="community", id=place.community.id, name=place.community.name)
        grid_team = (Handler(kind="grid_team", id=place.grid.id, name=place.grid.name)
                     if place.grid is not None else None)
        if kind == "property_company":
            if place.property_company is not None:
                return [Handler(kind="property_company", id=place.property_company.id,
                                name=place.property_company.name)]
            return [grid_team] if grid_team else [community]
        if kind == "department":
            matching = [d for d in place.departments if d.department_function == category.department_function]
            if matching:
                return [Handler(kind="department", id=d.id, name=d.name) for d in matching]
            return [community]
        if kind == "mediation":
            return [Handler(kind="mediation", id="mediation", name="调解 Mediation")]
        if kind == "grid_team":
            return [grid_team] if grid_team else [community]
        return [community]


ROUTER = ExtensionPoint(key="ticketing.router", group="redprop.ticketing.routers", interface=Router,
                        default="default", summary="Who handles a ticket at each level of the ladder.")
