"""The registry service: entrypoints only; the work is in resolver, queries, importer and writer."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import delete, select

from redprop.contracts import registry as c
from redprop.db import Database
from redprop.authz import beijing_today
from redprop.errors import Conflict, NotFound
from redprop.messaging import EventOutbox, command, query
from redprop.service import RedpropService
from redprop.services.registry import models as m
from redprop.services.registry import queries
from redprop.services.registry.grants import LocalAuthz, ancestry, grants
from redprop.services.registry.importer import parse_content
from redprop.services.registry.locators import LOCATOR
from redprop.services.registry.resolver import RegistryMap
from redprop.services.registry.writer import BatchWriter, Row, bump_structure_version

MIGRATIONS = Path(__file__).parent / "migrations"

# What refers to each kind (kind -> [(table, column)]), for safe removal.
REFERRERS = {
    "region": [(m.regions, "parent_id"), (m.complexes, "community_id"), (m.grids, "community_id"),
               (m.organisations, "scope_id"), (m.roles, "scope_id"), (m.reports, "community_id")],
    "complex": [(m.grids, "complex_id"), (m.buildings, "complex_id"), (m.organisations, "scope_id"), (m.roles, "scope_id")],
    "grid": [(m.buildings, "grid_id"), (m.organisations, "scope_id"), (m.roles, "scope_id")],
    "building": [(m.households, "building_id"), (m.organisations, "scope_id"), (m.roles, "scope_id")],
    "organisation": [(m.organisations, "parent_id"), (m.complexes, "property_company_id"),
                     (m.roles, "organisation_id"), (m.reports, "reporter_id"), (m.reports, "employer_id")],
    "person": [(m.roles, "person_id"), (m.reports, "reporter_id")],
    "household": [], "role": [], "report": [],
}


class RegistryService(RedpropService):
    name = "registry"
    contract = c.CONTRACT
    extension_points = (LOCATOR,)

    db = Database(m.metadata, migrations=MIGRATIONS)
    events = EventOutbox()
    map = RegistryMap()
    authz = LocalAuthz()  # the registry answers its own permits from its own tables

    def admits_without_permit(self, operation, request) -> bool:
        """An empty registry has no data officer to keep it: its first upsert may appoint its own actor
        as the district's data officer (and nothing else is admitted until one exists)."""
        if operation.name != "upsert":
            return False
        appoints_self = any(r.kind == "role" and r.role == "data_officer" and r.person_id == request.actor
                            for r in request.records) and any(
            r.kind == "person" and r.id == request.actor for r in request.records)
        if not appoints_self:
            return False
        return self.db.execute(select(m.roles.c.id).where(
            m.roles.c.district == self.district, m.roles.c.role == "data_officer").limit(1)).first() is None

    # -- reads -----------------------------------------------------------------------------------

    @query
    def resolve(self, request: c.ResolveRequest) -> c.ResolveReply:
        if request.building_id is not None:
            return self.map.current.by_building(request.building_id)
        if request.complex_id is not None:
            return self.map.current.by_complex(request.complex_id)
        if request.household_id is not None:
            return self.map.current.by_household(self.db, request.household_id)
        return self.map.current.by_point(request.point.lat, request.point.lon, request.max_distance_m)

    @query
    def get(self, request: c.GetRequest) -> c.GetReply:
        return c.GetReply(record=queries.get_record(self.db, self.district, request.kind, request.id))

    @query
    def list(self, request: c.ListRequest) -> c.ListReply:
        return queries.list_records(self.db, self.map.current, request)

    @query
    def electorate(self, request: c.ElectorateRequest) -> c.ElectorateReply:
        return queries.electorate(self.db, self.district, request.complex_id, request.building_ids, self.map.current)

    @query
    def grid_team(self, request: c.GridTeamRequest) -> c.GridTeamReply:
        return c.GridTeamReply(team=self.map.current.grid_team(request.grid_id, request.on))

    @query
    def cross_appointments(self, request: c.CrossAppointmentsRequest) -> c.CrossAppointmentsReply:
        return queries.cross_appointments(self.db, self.district, request.on or date.today(),
                                          request.limit, request.offset)

    @query
    def summary(self, request: c.SummaryRequest) -> c.SummaryReply:
        return queries.summary(self.db, self.map.current)

    @query
    def grants(self, request: c.GrantsRequest) -> c.GrantsReply:
        return grants(self.db, self.map.current, request.person_id, request.on or beijing_today())

    @query
    def ancestry(self, request: c.AncestryRequest) -> c.AncestryReply:
        return ancestry(self.db, self.map.current, request.id)

    # -- changes ---------------------------------------------------------------------------------

    @command
    def upsert(self, request: c.UpsertRequest) -> c.ChangeReport:
        rows = [Row(source="records", row=n, record=rec) for n, rec in enumerate(request.records, 1)]
        return self._write(rows, [], request.valid_only)

    @command
    def import_dataset(self, request: c.ImportRequest) -> c.ChangeReport:
        rows, errors = parse_content(request.format, request.content, request.kind, source=request.format)
        return self._write(rows, errors, request.valid_only)

    @command
    def remove(self, request: c.RemoveRequest) -> c.RemoveReply:
        table = m.TABLES[request.kind]
        exists = self.db.execute(select(table.c.id).where(
            table.c.district == self.district, table.c.id == request.id)).first()
        if exists is None:
            raise NotFound.entity(request.kind, request.id, "id")
        for ref_table, column in REFERRERS[request.kind]:
            col = ref_table.c[column]
            if self.db.execute(select(ref_table.c.id).where(ref_table.c.district == self.district, col == request.id).limit(1)).first():
                raise Conflict(f"{request.kind} {request.id!r} is still referred to by {ref_table.name}.{column}",
                               {"referrer": f"{ref_table.name}.{column}"})
        if request.kind == "person":
            owned = self.db.execute(select(m.households.c.id, m.households.c.owner_ids).where(
                m.households.c.district == self.district)).all()
            if any(request.id in (h.owner_ids or []) for h in owned):
                raise Conflict(f"person {request.id!r} still owns a household", {"referrer": "households.owner_ids"})
        self.db.execute(delete(table).where(table.c.district == self.district, table.c.id == request.id))
        version = bump_structure_version(self.db)
        self.events.emit(c.StructureChanged(
            district=self.district, structure_version=version,
            counts={request.kind: c.ChangeCounts()},
            changes=[c.EntityChange(kind=request.kind, id=request.id, change="removed")]))
        self.map.reload_after_commit()
        return c.RemoveReply(removed=True, structure_version=version)

    def _write(self, rows, errors, valid_only: bool) -> c.ChangeReport:
        report = BatchWriter(self.db, self.district).apply(rows, valid_only=valid_only, prior_errors=errors)
        if report.applied:
            self.events.relay_after_commit()  # the writer staged its events in this transaction
            self.map.reload_after_commit()
            self.authz.forget()  # this replica at once; the others on the broadcast
        return report

