"""What permits are checked against: a person's posts and the places each covers, and a place's ancestry.

The registry answers its own permits from here too (:class:`LocalAuthz`), without a round trip to itself.
"""

from __future__ import annotations

from datetime import date

from nameko.extensions import DependencyProvider
from sqlalchemy import select
from sqlalchemy.orm import Session

from redprop.authz import AnswerCache, Authorizer
from redprop.contracts.registry import AncestryReply, Grant, GrantsReply
from redprop.errors import NotFound
from redprop.services.registry import models as m
from redprop.services.registry.resolver import GovernanceMap


def ancestry(session: Session, gmap: GovernanceMap, entity_id: str) -> AncestryReply:
    """The entity, then every place above it, ending with the district code (which every post covers
    that has no narrower scope)."""
    kind, chain = _chain(session, gmap, entity_id)
    if kind is None:
        raise NotFound(f"no place, household or organisation {entity_id!r}",
                       {"entity": "place", "id": entity_id, "field": "id"})
    if gmap.district not in chain:
        chain.append(gmap.district)
    return AncestryReply(id=entity_id, kind=kind, ancestry=chain)


def _regions(gmap: GovernanceMap, region_id: str | None) -> list[str]:
    return [r.id for r in gmap.region_chain(region_id)] if region_id else []


def _chain(session: Session, gmap: GovernanceMap, entity_id: str, depth: int = 0) -> tuple[str | None, list[str]]:
    if entity_id == gmap.district:
        return "region", [entity_id]
    if entity_id in gmap.regions:
        return "region", _regions(gmap, entity_id)
    if entity_id in gmap.complexes:
        return "complex", [entity_id, *_regions(gmap, gmap.complexes[entity_id].community_id)]
    if entity_id in gmap.grids:
        grid = gmap.grids[entity_id]
        above = [grid.complex_id] if grid.complex_id else []
        return "grid", [entity_id, *above, *_regions(gmap, grid.community_id)]
    if entity_id in gmap.buildings:
        b = gmap.buildings[entity_id]
        return "building", [entity_id, b.grid_id, *_chain(session, gmap, b.complex_id)[1]]
    if entity_id in gmap.organisations:
        org = gmap.organisations[entity_id]
        above = _chain(session, gmap, org.scope_id, depth + 1)[1] if org.scope_id and depth < 5 else []
        return "organisation", [entity_id, *above]
    row = session.execute(select(m.households.c.building_id).where(
        m.households.c.district == gmap.district, m.households.c.id == entity_id)).first()
    if row is not None:
        return "household", [entity_id, *_chain(session, gmap, row.building_id)[1]]
    return None, []


def grants(session: Session, gmap: GovernanceMap, person_id: str, day: date) -> GrantsReply:
    person = session.execute(select(m.people.c.id, m.people.c.party_member).where(
        m.people.c.district == gmap.district, m.people.c.id == person_id)).first()
    if person is None:
        return GrantsReply(person_id=person_id, known=False)
    rows = session.execute(select(m.roles).where(
        m.roles.c.district == gmap.district, m.roles.c.person_id == person_id).order_by(m.roles.c.id)).all()
    out = []
    for r in rows:
        if r.term_start > day or (r.term_end is not None and r.term_end < day):
            continue
        org = gmap.organisations.get(r.organisation_id) if r.organisation_id else None
        scope = r.scope_id or (org.scope_id if org is not None else None) or gmap.district
        out.append(Grant(role=r.role, role_id=r.id, organisation_id=r.organisation_id,
                         organisation_kind=org.org_kind if org is not None else None, covers=[scope]))
    return GrantsReply(person_id=person_id, known=True, party_member=bool(person.party_member), grants=out)


class LocalAuthz(DependencyProvider):
    """The registry's ``self.authz``: the same Authorizer, answered from its own database and map."""

    def setup(self):
        self.cache = AnswerCache()

    def get_dependency(self, worker_ctx) -> Authorizer:
        def service():
            return worker_ctx.service  # its db and map are injected before the operation runs
        return Authorizer(lambda person, day: grants(service().db, service().map.current, person, day),
                          lambda entity: ancestry(service().db, service().map.current, entity), self.cache)
