"""The in-memory governance map that answers ``resolve`` on every other service's hot path.

The map holds the structure above households (regions, complexes, grids, buildings, organisations and
grid-team roles): a district's worth is a few megabytes. It is rebuilt from the database when the
structure version moves: right after this service commits a change, and by a poll every few seconds, so
changes made by another replica or by the import CLI are seen too. Answers are memoised per day (grid
teams depend on the date). Households are looked up in the database (one indexed read) and memoised.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import eventlet
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from sqlalchemy import select
from sqlalchemy.orm import Session

from redprop.config import settings_from_config
from redprop.contracts.registry import (
    COMMITTEE_KINDS,
    GRID_TEAM_ROLES,
    ComplexInfo,
    DepartmentRef,
    GridTeam,
    OrgRef,
    Ref,
    ResolveReply,
    TeamMember,
)
from redprop.db.provider import find_database
from redprop.errors import NotFound
from redprop.service import choices_of
from redprop.services.registry import models as m
from redprop.services.registry.locators import BuildingLocator, BuildingPoint
from redprop.services.registry.writer import structure_version

log = logging.getLogger(__name__)

HOUSEHOLD_CACHE_SIZE = 50_000
COMMITTEE_PREFERENCE = {"owners_committee": 0, "property_management_committee": 1, "self_management_committee": 2}


@dataclass(frozen=True)
class _Role:
    id: str
    person_id: str
    role: str
    organisation_id: str | None
    scope_id: str | None
    term_start: date
    term_end: date | None

    def active_on(self, day: date) -> bool:
        return self.term_start <= day and (self.term_end is None or day <= self.term_end)


class GovernanceMap:
    """An immutable snapshot of one district's structure."""

    def __init__(self, session: Session, district: str, district_name: str, locator: BuildingLocator):
        self.district = district
        self.version = structure_version(session)
        def rows(table):
            return {r.id: r for r in session.execute(select(table).where(table.c.district == district))}

        self.regions = rows(m.regions)
        self.complexes = rows(m.complexes)
        self.grids = rows(m.grids)
        self.buildings = rows(m.buildings)
        self.organisations = rows(m.organisations)
        role_rows = session.execute(select(m.roles).where(
            m.roles.c.district == district, m.roles.c.role.in_(GRID_TEAM_ROLES))).all()
        self.team_roles = [_Role(r.id, r.person_id, r.role, r.organisation_id, r.scope_id, r.term_start, r.term_end)
                           for r in role_rows]
        person_ids = {r.person_id for r in self.team_roles}
        self.people = {}
        ids = sorted(person_ids)
        for start in range(0, len(ids), 500):
            for r in session.execute(select(m.people.c.id, m.people.c.name, m.people.c.party_member).where(
                    m.people.c.district == district, m.people.c.id.in_(ids[start:start + 500]))):
                self.people[r.id] = r
        self.district_name = district_name

        # Indexes.
        self.grids_of_complex: dict[str, list[str]] = defaultdict(list)
        self.grid_of_building_scope: dict[str, str] = {}
        for b in self.buildings.values():
            self.grid_of_building_scope[b.id] = b.grid_id
            if b.grid_id not in self.grids_of_complex[b.complex_id]:
                self.grids_of_complex[b.complex_id].append(b.grid_id)
        for g in self.grids.values():
            if g.complex_id and g.id not in self.grids_of_complex[g.complex_id]:
                self.grids_of_complex[g.complex_id].append(g.id)
        self.orgs_by_scope: dict[str | None, list] = defaultdict(list)
        for o in self.organisations.values():
            self.orgs_by_scope[o.scope_id].append(o)
        self.roles_by_grid: dict[str, list[_Role]] = defaultdict(list)
        for role in self.team_roles:
            grid_id = role.scope_id if role.scope_id in self.grids else self.grid_of_building_scope.get(role.scope_id)
            if grid_id:
                self.roles_by_grid[grid_id].append(role)
        self.locator = locator
        locator.index(BuildingPoint(b.id, b.lat, b.lon) for b in self.buildings.values())
        self._memo: dict[tuple, ResolveReply] = {}
        self._memo_day = date.today()
        self._households: dict[str, tuple[str, str]] = {}

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _ref(row) -> Ref:
        return Ref(id=row.id, name=row.name)

    def region_chain(self, region_id: str) -> list:
        chain = []
        while region_id and region_id in self.regions and len(chain) < 10:
            chain.append(self.regions[region_id])
            region_id = self.regions[region_id].parent_id
        return chain

    def _today(self) -> date:
        today = date.today()
        if today != self._memo_day:
            self._memo.clear()
            self._memo_day = today
        return today

    def grid_team(self, grid_id: str, on: date | None = None) -> GridTeam:
        grid = self.grids.get(grid_id)
        if grid is None:
            raise NotFound.entity("grid", grid_id, "grid_id")
        day = on or self._today()
        members = []
        for role in sorted(self.roles_by_grid.get(grid_id, ()), key=lambda r: (GRID_TEAM_ROLES.index(r.role), r.id)):
            person = self.people.get(role.person_id)
            if person is not None and role.active_on(day):
                members.append(TeamMember(person_id=person.id, name=person.name, role=role.role,
                                          party_member=bool(person.party_member), scope_id=role.scope_id))
        return GridTeam(grid_id=grid.id, grid_name=grid.name, members=members)

    def _complex_info(self, cx) -> ComplexInfo:
        has_owners_committee = any(o.org_kind == "owners_committee" for o in self.orgs_by_scope.get(cx.id, ()))
        return ComplexInfo(
            id=cx.id, name=cx.name, has_property_certificate=bool(cx.has_property_certificate),
            has_maintenance_fund=bool(cx.has_maintenance_fund), year_built=cx.year_built,
            three_no=cx.property_company_id is None and not has_owners_committee and not cx.has_maintenance_fund,
        )

    def _org(self, row) -> OrgRef:
        return OrgRef(id=row.id, name=row.name, org_kind=row.org_kind)

    def _answer(self, cx, grid, matched_by: str, building=None) -> ResolveReply:
        community = self.regions[cx.community_id]
        chain = self.region_chain(community.id)
        subdistrict = next((r for r in chain if r.level in ("subdistrict", "town")), community)
        district = next((r for r in chain if r.level == "district"), None)
        committees = sorted((o for o in self.orgs_by_scope.get(cx.id, ()) if o.org_kind in COMMITTEE_KINDS),
                            key=lambda o: (COMMITTEE_PREFERENCE[o.org_kind], o.id))
        party = (
            next((o for o in self.orgs_by_scope.get(cx.id, ()) if o.org_kind == "complex_party_branch"), None)
            or next((o for o in self.orgs_by_scope.get(community.id, ()) if o.org_kind == "community_party_committee"), None)
        )
        company = self.organisations.get(cx.property_company_id) if cx.property_company_id else None
        departments = []
        for scope in [r.id for r in chain] + [None]:
            for o in sorted(self.orgs_by_scope.get(scope, ()), key=lambda o: o.id):
                if o.org_kind == "department":
                    departments.append(DepartmentRef(id=o.id, name=o.name, org_kind=o.org_kind,
                                                     department_function=o.department_function))
        grids = [self._ref(self.grids[g]) for g in sorted(self.grids_of_complex.get(cx.id, ())) if g in self.grids]
        if grid is None and len(grids) == 1:
            grid = self.grids[grids[0].id]
        return ResolveReply(
            district=self.district, matched_by=matched_by,
            building=self._ref(building) if building is not None else None,
            complex=self._complex_info(cx),
            grid=self._ref(grid) if grid is not None else None,
            grids=grids,
            community=self._ref(community),
            subdistrict=self._ref(subdistrict),
            district_region=self._ref(district) if district is not None else Ref(id=self.district, name=self.district_name),
            grid_team=self.grid_team(grid.id) if grid is not None else None,
            property_company=self._org(company) if company is not None else None,
            committee=self._org(committees[0]) if committees else None,
            party_organisation=self._org(party) if party is not None else None,
            departments=departments,
        )

    # -- resolve ---------------------------------------------------------------------------------

    def by_building(self, building_id: str) -> ResolveReply:
        self._today()
        key = ("building", building_id)
        answer = self._memo.get(key)
        if answer is None:
            b = self.buildings.get(building_id)
            if b is None:
                raise NotFound.entity("building", building_id, "building_id")
            answer = self._answer(self.complexes[b.complex_id], self.grids.get(b.grid_id), "building", b)
            self._memo[key] = answer
        return answer

    def by_complex(self, complex_id: str) -> ResolveReply:
        self._today()
        key = ("complex", complex_id)
        answer = self._memo.get(key)
        if answer is None:
            cx = self.complexes.get(complex_id)
            if cx is None:
                raise NotFound.entity("complex", complex_id, "complex_id")
            answer = self._answer(cx, None, "complex")
            self._memo[key] = answer
        return answer

    def by_household(self, session: Session, household_id: str) -> ResolveReply:
        found = self._households.get(household_id)
        if found is None:
            row = session.execute(select(m.households.c.building_id, m.households.c.unit).where(
                m.households.c.district == self.district, m.households.c.id == household_id)).first()
            if row is None:
                raise NotFound.entity("household", household_id, "household_id")
            found = (row.building_id, row.unit)
            if len(self._households) >= HOUSEHOLD_CACHE_SIZE:
                self._households.clear()
            self._households[household_id] = found
        building_answer = self.by_building(found[0])
        return building_answer.model_copy(update={
            "matched_by": "household", "household": Ref(id=household_id, name=found[1])})

    def by_point(self, lat: float, lon: float, max_distance_m: float) -> ResolveReply:
        hit = self.locator.locate(lat, lon, max_distance_m)
        if hit is None:
            raise NotFound(f"no building within {max_distance_m:g} m of ({lat}, {lon})",
                           {"entity": "building", "field": "point", "max_distance_m": max_distance_m})
        building_id, distance = hit
        return self.by_building(building_id).model_copy(update={"matched_by": "point", "distance_m": round(distance, 1)})


class MapAccess:
    """What ``self.map`` is in a worker: the current snapshot, and a way to refresh it after a change."""

    def __init__(self, provider: RegistryMap, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx
        #: The snapshot this worker uses from start to end (a reload does not change it mid-request).
        self.current: GovernanceMap = provider.current

    def reload_after_commit(self) -> None:
        """Reload once this worker's change is committed, before its reply is sent: the caller who
        changed the structure reads its own writes (other replicas catch up through the poll)."""
        self._provider.db.on_commit(self._worker_ctx, self._provider.reload_if_changed)


class RegistryMap(DependencyProvider):
    """Holds the current :class:`GovernanceMap`; injects a :class:`MapAccess` into workers."""

    def __init__(self, poll_interval: float = 3.0):
        self.poll_interval = poll_interval

    def setup(self):
        self.settings = settings_from_config(self.container.config)
        self.db = find_database(self.container)
        self.locator_cls = choices_of(self.container).plugins.locator
        self.current: GovernanceMap | None = None
        self._lock = Semaphore()
        self._gt = None

    def start(self):
        self.reload()
        self._gt = self.container.spawn_managed_thread(self._poll, identifier="registry-map-poll")

    def stop(self):
        if self._gt is not None:
            self._gt.kill()

    kill = stop

    def get_dependency(self, worker_ctx) -> MapAccess:
        return MapAccess(self, worker_ctx)

    def reload(self, *_args) -> GovernanceMap:
        with self._lock, self.db.new_session() as session:
            snapshot = GovernanceMap(session, self.settings.district, self.settings.district_name, self.locator_cls())
        self.current = snapshot
        log.info("registry map loaded: version %d, %d buildings", snapshot.version, len(snapshot.buildings))
        return snapshot

    def reload_if_changed(self, *_args) -> None:
        with self.db.new_session() as session:
            version = structure_version(session)
        if self.current is None or version != self.current.version:
            self.reload()

    def _poll(self):
        while True:
            eventlet.sleep(self.poll_interval)
            try:
                self.reload_if_changed()
            except Exception:
                log.exception("could not refresh the registry map; keeping version %s",
                              self.current.version if self.current else None)
