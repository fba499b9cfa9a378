"""Validate and write a batch of registry records (used by upsert, import_dataset and the import CLI).

Every problem is reported with its source, row and field. By default a batch with any problem writes
nothing; with ``valid_only`` the valid records are written and the rest reported (a record that refers to
a rejected one is rejected too). Accepted records are upserted, the structure version is bumped, and the
change events are staged in the same transaction (transactional outbox).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.contracts.registry import (
    AREA_SOURCES,
    COMMITTEE_KINDS,
    ENTITY_ORDER,
    PARTY_LEVELS,
    RECORD_TYPES,
    REGION_PARENT,
    ChangeCounts,
    ChangeReport,
    EntityChange,
    EntityRecord,
    RoleChange,
    RoleRecord,
    RolesChanged,
    RowError,
    StructureChanged,
)
from redprop.db import upsert
from redprop.messaging.outbox import stage_event
from redprop.privacy.access import record_accesses
from redprop.privacy.cipher import FieldCipher
from redprop.services.registry import personal
from redprop.services.registry.models import TABLES, access_log, people, registry_meta

MAX_LISTED_ERRORS = 1000
MAX_LISTED_CHANGES = 1000
CHUNK = 500


@dataclass
class Row:
    """A record with where it came from (for the report)."""

    source: str
    row: int
    record: EntityRecord


@dataclass
class _Known:
    """What is known about each id: the batch's version if it has one, else the stored one."""

    attrs: dict[str, dict[str, dict]] = field(default_factory=lambda: defaultdict(dict))

    def get(self, kind: str, id_: str | None) -> dict | None:
        return self.attrs[kind].get(id_) if id_ else None

    def has(self, kind: str, id_: str | None) -> bool:
        return id_ is not None and id_ in self.attrs[kind]

    def kind_of_place(self, id_: str) -> str | None:
        for kind in ("region", "complex", "grid", "building"):
            if id_ in self.attrs[kind]:
                return kind
        return None


# Kinds other records refer to, and the columns the checks need (id is implicit).
_REFERENCE_COLUMNS = {
    "region": ("level", "parent_id"),
    "complex": ("community_id",),
    "grid": ("community_id", "complex_id"),
    "building": ("complex_id", "grid_id"),
    "organisation": ("org_kind",),
    "person": (),
}


def structure_version(session: Session) -> int:
    value = session.execute(select(registry_meta.c.value).where(registry_meta.c.key == "structure_version")).scalar()
    return int(value or 0)


def bump_structure_version(session: Session) -> int:
    current = structure_version(session)
    new = current + 1
    if current == 0 and session.execute(select(registry_meta.c.key)).first() is None:
        session.execute(registry_meta.insert().values(key="structure_version", value=new))
    else:
        session.execute(update(registry_meta).where(registry_meta.c.key == "structure_version").values(value=new))
    return new


class BatchWriter:
    """``actor`` and ``why`` go into the access log for each change of a person's personal data."""

    def __init__(self, session: Session, district: str, cipher: FieldCipher, *, actor: str | None = None,
                 why: str = "upsert"):
        self.session = session
        self.district = district
        self.cipher = cipher
        self.actor = actor or why
        self.why = why
        self.errors: list[RowError] = []
        self._known = _Known()
        self._erased: dict[str, object] | None = None

    # -- public ----------------------------------------------------------------------------------

    def apply(self, rows: list[Row], *, valid_only: bool, prior_errors: Iterable[RowError] = (),
              progress: Callable[[int], None] | None = None) -> ChangeReport:
        self.errors = list(prior_errors)
        counts: dict[str, ChangeCounts] = defaultdict(ChangeCounts)
        for e in self.errors:
            counts[e.kind or "unknown"].rejected += 1
        kept = self._check_district_and_duplicates(rows)
        if len(kept) != len(rows):  # duplicates and other districts' rows are rejected rows too
            kept_ids = {id(row) for row in kept}
            for row in rows:
                if id(row) not in kept_ids:
                    counts[row.record.kind].rejected += 1
        rows = kept
        accepted = self._check_references(rows)
        rejected_rows = len(rows) - len(accepted)
        accepted_ids = {id(row) for row in accepted}
        for row in rows:
            if id(row) not in accepted_ids:
                counts[row.record.kind].rejected += 1
        must_stop = (self.errors or rejected_rows) and not valid_only
        version = structure_version(self.session)
        applied = False
        if not must_stop and accepted:
            changes, role_changes = self._write(accepted, counts, progress)
            if changes:
                version = bump_structure_version(self.session)
                self._stage_events(version, counts, changes, role_changes)
            applied = True
        elif not must_stop:
            applied = True
        listed = sorted(self.errors, key=lambda e: (e.source, e.row))
        return ChangeReport(
            district=self.district, applied=bool(applied), counts=dict(counts),
            errors=listed[:MAX_LISTED_ERRORS], more_errors=max(0, len(listed) - MAX_LISTED_ERRORS),
            structure_version=version,
        )

    # -- checks ----------------------------------------------------------------------------------

    def _error(self, row: Row, field_: str, message: str) -> None:
        self.errors.append(RowError(source=row.source, row=row.row, kind=row.record.kind,
                                    id=row.record.id, field=field_, message=message))

    def _check_district_and_duplicates(self, rows: list[Row]) -> list[Row]:
        seen: dict[tuple[str, str], Row] = {}
        kept = []
        for row in rows:
            rec = row.record
            if rec.district is None:
                rec.district = self.district
            elif rec.district != self.district:
                self._error(row, "district", f"belongs to district {rec.district}, this registry serves {self.district}")
                continue
            key = (rec.kind, rec.id)
            if key in seen:
                first = seen[key]
                self._error(row, "id", f"duplicate {rec.kind} id {rec.id!r} (also {first.source} row {first.row})")
                continue
            seen[key] = row
            kept.append(row)
        return kept

    def _load_known(self, rows: list[Row]) -> _Known:
        known = _Known()
        for kind in _REFERENCE_COLUMNS:
            table = TABLES[kind]
            cols = [table.c.id] + [table.c[c] for c in _REFERENCE_COLUMNS[kind]]
            for r in self.session.execute(select(*cols).where(table.c.district == self.district)):
                known.attrs[kind][r.id] = dict(r._mapping)
        for row in rows:
            rec = row.record
            if rec.kind in _REFERENCE_COLUMNS:
                known.attrs[rec.kind][rec.id] = rec.model_dump(include={"id", *_REFERENCE_COLUMNS[rec.kind]})
        return known

    def _check_references(self, rows: list[Row]) -> list[Row]:
        """Drop invalid rows until what remains refers only to valid or stored entities."""
        remaining = rows
        while True:
            self._known = self._load_known(remaining)
            valid = [row for row in remaining if self._valid(row)]
            if len(valid) == len(remaining):
                return valid
            remaining = valid

    def _valid(self, row: Row) -> bool:
        rec = row.record
        before = len(self.errors)
        getattr(self, f"_check_{rec.kind}")(row, rec)
        return len(self.errors) == before

    def _ref(self, row: Row, field_: str, kind: str, id_: str | None, required: bool = True, **expect) -> dict | None:
        if id_ is None:
            if required:
                self._error(row, field_, "is required")
            return None
        found = self._known.get(kind, id_)
        if found is None:
            self._error(row, field_, f"unknown {kind} {id_!r}")
            return None
        for attr, allowed in expect.items():
            if found.get(attr) not in allowed:
                self._error(row, field_, f"{kind} {id_!r} has {attr} {found.get(attr)!r}, expected {' or '.join(allowed)}")
                return None
        return found

    def _check_region(self, row, rec):
        parents = REGION_PARENT[rec.level]
        if rec.level == "district" and rec.id != self.district:
            self._error(row, "id", f"the district region's id must be the district code {self.district}")
        if parents:
            if rec.parent_id is None and rec.level != "district":
                self._error(row, "parent_id", f"a {rec.level} needs a parent ({' or '.join(parents)})")
            elif rec.parent_id is not None:
                self._ref(row, "parent_id", "region", rec.parent_id, level=parents)
        elif rec.parent_id is not None:
            self._error(row, "parent_id", "a city has no parent")

    def _check_complex(self, row, rec):
        self._ref(row, "community_id", "region", rec.community_id, level=("community",))
        self._ref(row, "property_company_id", "organisation", rec.property_company_id, required=False,
                  org_kind=("property_company",))

    def _check_grid(self, row, rec):
        self._ref(row, "community_id", "region", rec.community_id, level=("community",))
        cx = self._ref(row, "complex_id", "complex", rec.complex_id, required=False)
        if cx and cx["community_id"] != rec.community_id:
            self._error(row, "complex_id", f"complex {rec.complex_id!r} is in community {cx['community_id']!r}, not {rec.community_id!r}")

    def _check_building(self, row, rec):
        cx = self._ref(row, "complex_id", "complex", rec.complex_id)
        grid = self._ref(row, "grid_id", "grid", rec.grid_id)
        if cx and grid and grid["community_id"] != cx["community_id"]:
            self._error(row, "grid_id", f"grid {rec.grid_id!r} is in community {grid['community_id']!r}, "
                                        f"the complex in {cx['community_id']!r}")

    def _check_household(self, row, rec):
        self._ref(row, "building_id", "building", rec.building_id)
        # Interpretation on building differentiated ownership, Art. 8: register, else survey, else contract.
        known = [s for s in AREA_SOURCES if getattr(rec, f"{s}_area_m2") is not None]
        if rec.area_m2 is None:
            self._error(row, "area_m2", "give area_m2, or register_area_m2, survey_area_m2 or contract_area_m2")
        elif known:
            first = known[0]
            if rec.area_source != first:
                self._error(row, "area_source", f"the {first} area is known, so it is the one counted (Art. 8), "
                                                f"not the {rec.area_source} area")
            elif rec.area_m2 != getattr(rec, f"{first}_area_m2"):
                self._error(row, "area_m2", f"differs from {first}_area_m2, the area counted (Art. 8)")
        for n, owner in enumerate(rec.owner_ids):
            self._ref(row, f"owner_ids.{n}", "person", owner)

    def _check_organisation(self, row, rec):
        if rec.parent_id is not None:
            if rec.parent_id == rec.id:
                self._error(row, "parent_id", "an organisation cannot be its own parent")
            else:
                allowed = PARTY_LEVELS.get(rec.org_kind)
                if allowed:
                    self._ref(row, "parent_id", "organisation", rec.parent_id, org_kind=allowed)
                else:
                    self._ref(row, "parent_id", "organisation", rec.parent_id)
        elif rec.org_kind in ("complex_party_branch", "grid_party_group", "party_member_household"):
            self._error(row, "parent_id", f"a {rec.org_kind} belongs to a higher party organisation")
        if rec.scope_id is not None and self._known.kind_of_place(rec.scope_id) is None:
            self._error(row, "scope_id", f"unknown region, complex, grid or building {rec.scope_id!r}")
        if rec.org_kind in COMMITTEE_KINDS and (rec.scope_id is None or self._known.kind_of_place(rec.scope_id) != "complex"):
            self._error(row, "scope_id", "a committee serves a complex: scope_id must be a complex")

    def _check_person(self, row, rec):
        if self._erased is None:
            self._erased = dict(self.session.execute(select(people.c.id, people.c.erased_at).where(
                people.c.district == self.district, people.c.erased_at.is_not(None))).all())
        if rec.id in self._erased:
            # PIPL Art. 47: data erased on the person's request must not come back with an old dataset.
            self._error(row, "id", f"person {rec.id!r} was erased on request; their data may not be written again")
            return
        masked = [f for f in personal.PERSONAL_FIELDS if personal.is_masked(getattr(rec, f))]
        if masked:
            stored = self._stored_person(rec.id)
            for field_ in masked:
                # A masked value read back unchanged keeps the stored number; any other masked value is refused.
                mask = personal.PERSONAL_FIELDS[field_]
                if stored is None or mask(stored.get(field_)) != getattr(rec, field_):
                    self._error(row, field_, "is masked: give the number itself, or the masked value as read")

    def _stored_person(self, person_id: str) -> dict | None:
        found = self.session.execute(select(people).where(
            people.c.district == self.district, people.c.id == person_id)).first()
        return personal.unseal(dict(found._mapping), self.cipher) if found else None

    def _check_role(self, row, rec):
        self._ref(row, "person_id", "person", rec.person_id)
        self._ref(row, "organisation_id", "organisation", rec.organisation_id, required=False)
        if rec.scope_id is not None and self._known.kind_of_place(rec.scope_id) is None:
            self._error(row, "scope_id", f"unknown region, complex, grid or building {rec.scope_id!r}")
        if rec.role in ("grid_head", "grid_member", "red_property_specialist") and rec.scope_id is not None \
                and self._known.kind_of_place(rec.scope_id) not in ("grid", "complex", "region"):
            self._error(row, "scope_id", f"a {rec.role} covers a grid, complex or region")

    def _check_report(self, row, rec):
        if not (self._known.has("person", rec.reporter_id) or self._known.has("organisation", rec.reporter_id)):
            self._error(row, "reporter_id", f"unknown person or organisation {rec.reporter_id!r}")
        self._ref(row, "community_id", "region", rec.community_id, level=("community",))
        self._ref(row, "employer_id", "organisation", rec.employer_id, required=False)

    # -- writing ---------------------------------------------------------------------------------

    def _existing(self, table: Table, ids: list[str]) -> dict[str, dict]:
        found = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            for r in self.session.execute(select(table).where(table.c.district == self.district, table.c.id.in_(chunk))):
                found[r.id] = dict(r._mapping)
        return found

    def _upsert(self, table: Table, values: list[dict]) -> None:
        stmt = upsert(self.session, table, [table.c.district, table.c.id],
                      update=[c.name for c in table.columns if c.name not in ("district", "id")])
        for start in range(0, len(values), CHUNK * 4):
            self.session.execute(stmt, values[start:start + CHUNK * 4])

    def _write(self, rows: list[Row], counts, progress):
        by_kind: dict[str, list[EntityRecord]] = defaultdict(list)
        for row in rows:
            by_kind[row.record.kind].append(row.record)
        changes: list[EntityChange] = []
        role_changes: list[RoleChange] = []
        accesses: list[dict] = []
        now = utcnow()
        today = date.today()
        done = 0
        for kind in ENTITY_ORDER:
            records = by_kind.get(kind)
            if not records:
                continue
            table = TABLES[kind]
            existing = self._existing(table, [r.id for r in records])
            to_write = []
            for rec in records:
                values = rec.model_dump(exclude={"kind"})
                old = existing.get(rec.id)
                if kind == "person":
                    old = personal.unseal(old, self.cipher) if old is not None else None
                    for f in personal.PERSONAL_FIELDS:  # checked: a masked value read back as it was
                        if personal.is_masked(values.get(f)):
                            values[f] = old[f]
                    accesses.extend(self._personal_changes(values, old))
                if old is not None:
                    old.pop("updated_at", None)
                    if _same(old, values):
                        counts[kind].unchanged += 1
                        continue
                    counts[kind].updated += 1
                    change = "updated"
                else:
                    counts[kind].created += 1
                    change = "created"
                if kind == "person":
                    values = {**personal.seal(values, self.cipher, self.district), "erased_at": None}
                to_write.append({**values, "updated_at": now})
                changes.append(EntityChange(kind=kind, id=rec.id, change=change))
                if isinstance(rec, RoleRecord):
                    ended = rec.term_end is not None and rec.term_end < today
                    role_changes.append(RoleChange(
                        role_id=rec.id, person_id=rec.person_id, role=rec.role,
                        organisation_id=rec.organisation_id, scope_id=rec.scope_id,
                        change="ended" if ended else ("appointed" if change == "created" else "updated")))
            if to_write:
                self._upsert(table, to_write)
            done += len(records)
            if progress:
                progress(done)
        record_accesses(self.session, access_log, accesses)
        return changes, role_changes

    def _personal_changes(self, new: dict, old: dict | None) -> list[dict]:
        """An access-log entry for a person whose phone or ID card this write sets or changes."""
        fields = [f for f in personal.PERSONAL_FIELDS
                  if (old.get(f) if old else None) != new.get(f)]
        if not fields:
            return []
        return [{"district": self.district, "who": self.actor[:64], "action": "change", "subject_id": new["id"],
                 "what": ",".join(fields), "why": self.why}]

    def _stage_events(self, version, counts, changes, role_changes) -> None:
        stage_event(self.session, "registry", StructureChanged(
            district=self.district, structure_version=version, counts=dict(counts),
            changes=changes[:MAX_LISTED_CHANGES], truncated=len(changes) > MAX_LISTED_CHANGES))
        if role_changes:
            stage_event(self.session, "registry", RolesChanged(
                district=self.district, changes=role_changes[:MAX_LISTED_CHANGES],
                truncated=len(role_changes) > MAX_LISTED_CHANGES))


def _same(old: dict, new: dict) -> bool:
    for key, value in new.items():
        stored = old.get(key)
        if isinstance(value, float) and isinstance(stored, float):
            if abs(value - stored) > 1e-9:
                return False
        elif stored != value:
            return False
    return True


def record_from_row(kind: str, row, cipher: FieldCipher | None = None) -> EntityRecord:
    """The record of a stored row; a person's personal fields decrypted (so a person needs the cipher)."""
    data = dict(row._mapping)
    if kind == "person":
        data = personal.unseal(data, cipher)
    data.pop("updated_at", None)
    return RECORD_TYPES[kind].model_validate(data)
