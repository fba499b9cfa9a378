"""Turning submitted offers and needs into rows: category (given or inferred from Chinese synonyms),
base units, and a location from the registry when none is given.

Every problem in a batch is collected and reported together, field by field; nothing is written unless
the whole batch is valid.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from redprop.clock import utcnow
from redprop.contracts import matching as c
from redprop.errors import NotFound, ValidationFailed
from redprop.services.matching.taxonomy import BY_ID, classify


class RegistryLookup:
    """Registry answers for one batch, each asked once (``registry`` is a ServiceRpc proxy)."""

    def __init__(self, registry: Any):
        self.registry = registry
        self._records: dict[tuple[str, str], Any] = {}
        self._resolved: dict[str, Any] = {}

    def record(self, kind: str, id_: str, field: str):
        key = (kind, id_)
        if key not in self._records:
            try:
                self._records[key] = self.registry.get(kind=kind, id=id_).record
            except NotFound:
                raise NotFound.entity(kind, id_, field) from None
        return self._records[key]

    def scope_location(self, scope_id: str) -> tuple[float | None, float | None]:
        """Where an organisation without coordinates sits: its complex's or region's point."""
        for kind in ("region", "complex"):
            try:
                rec = self.record(kind, scope_id, "scope_id")
            except NotFound:
                continue
            if rec.lat is not None:
                return rec.lat, rec.lon
        return None, None

    def resolve_complex(self, complex_id: str, field: str):
        if complex_id not in self._resolved:
            try:
                self._resolved[complex_id] = self.registry.resolve(complex_id=complex_id)
            except NotFound:
                raise NotFound.entity("complex", complex_id, field) from None
        return self._resolved[complex_id]


def _category(item, prefix: str, errors: list[dict]) -> tuple[str, str] | None:
    if item.category is not None:
        if item.category not in BY_ID:
            errors.append({"field": f"{prefix}.category", "type": "unknown_category",
                           "message": f"unknown category {item.category!r}; known: {', '.join(sorted(BY_ID))}"})
            return None
        return item.category, "given"
    found = classify(item.title, item.description)
    if found is None:
        errors.append({"field": f"{prefix}.category", "type": "no_category",
                       "message": "no category given and none recognised in the title or description"})
        return None
    return found[0], f"synonym:{found[1]}"


def _kind(item, category: str, prefix: str, errors: list[dict]) -> str:
    expected = BY_ID[category].kind
    if item.kind is not None and item.kind != expected:
        errors.append({"field": f"{prefix}.kind", "type": "kind_mismatch",
                       "message": f"category {category!r} is {expected}, not {item.kind}"})
    return expected


def base_quantity(quantity: int, unit: str) -> int:
    return quantity * c.UNITS[unit][1]


def offer_rows(items: Sequence[c.OfferIn], district: str, lookup: RegistryLookup, today: date) -> list[dict]:
    errors: list[dict] = []
    rows: list[dict] = []
    seen: set[str] = set()
    now = utcnow()
    for n, item in enumerate(items):
        prefix = f"offers.{n}"
        if item.id is not None:
            if item.id in seen:
                errors.append({"field": f"{prefix}.id", "type": "duplicate", "message": "id given twice"})
            seen.add(item.id)
        found = _category(item, prefix, errors)
        if found is None:
            continue
        category, source = found
        kind = _kind(item, category, prefix, errors)
        lat, lon, name, leaves_on = item.lat, item.lon, item.provider_name, None
        if item.provider_kind == "organisation":
            org = lookup.record("organisation", item.provider_id, f"{prefix}.provider_id")
            name = name or org.name
            leaves_on = org.relocation_date
            if lat is None and org.lat is not None:
                lat, lon = org.lat, org.lon
            elif lat is None and org.scope_id is not None and item.complex_id is None:
                lat, lon = lookup.scope_location(org.scope_id)
        if item.complex_id is not None and item.lat is None:
            cx = lookup.record("complex", item.complex_id, f"{prefix}.complex_id")
            if cx.lat is not None:
                lat, lon = cx.lat, cx.lon
        if lat is None:
            errors.append({"field": f"{prefix}.lat", "type": "no_location",
                           "message": "no location: give lat/lon, a complex_id, or a provider with a location"})
            continue
        ends = [d for d in (item.available_until, leaves_on) if d is not None]
        if ends and min(ends) < today:
            errors.append({"field": f"{prefix}.available_until", "type": "in_the_past",
                           "message": f"the offer ends on {min(ends)}, before today ({today})"
                                      + (" (the provider leaves then)" if leaves_on == min(ends) else "")})
        if item.available_from is not None and leaves_on is not None and item.available_from > leaves_on:
            errors.append({"field": f"{prefix}.available_from", "type": "after_leaving",
                           "message": f"the provider leaves on {leaves_on}, before the offer starts"})
        rows.append(dict(
            district=district, id=item.id or f"OF-{uuid.uuid4().hex[:12]}", kind=kind,
            provider_id=item.provider_id, provider_kind=item.provider_kind, provider_name=name,
            title=item.title, description=item.description, category=category, category_source=source,
            quantity=item.quantity, unit=item.unit, base_quantity=base_quantity(item.quantity, item.unit),
            condition=item.condition, estimated_value=item.estimated_value, lat=lat, lon=lon,
            complex_id=item.complex_id, available_from=item.available_from, available_until=item.available_until,
            leaves_on=leaves_on, pickup_constraints=item.pickup_constraints, skill=item.skill,
            weekdays=item.weekdays, recurrence=item.recurrence, transport_cost_per_km=item.transport_cost_per_km,
            status="open", dirty=True, solved_period=None, created_at=now, updated_at=now))
    if errors:
        raise ValidationFailed.for_fields(errors)
    return rows


def need_rows(items: Sequence[c.NeedIn], district: str, lookup: RegistryLookup, today: date) -> list[dict]:
    errors: list[dict] = []
    rows: list[dict] = []
    seen: set[str] = set()
    now = utcnow()
    for n, item in enumerate(items):
        prefix = f"needs.{n}"
        if item.id is not None:
            if item.id in seen:
                errors.append({"field": f"{prefix}.id", "type": "duplicate", "message": "id given twice"})
            seen.add(item.id)
        found = _category(item, prefix, errors)
        if found is None:
            continue
        category, source = found
        kind = _kind(item, category, prefix, errors)
        if item.needed_by < today:
            errors.append({"field": f"{prefix}.needed_by", "type": "in_the_past",
                           "message": f"needed_by {item.needed_by} is before today ({today})"})
        field = f"{prefix}.requester_id"
        complex_id = community_id = subdistrict_id = None
        lat, lon = item.lat, item.lon
        if item.requester_kind == "complex":
            resolved = lookup.resolve_complex(item.requester_id, field)
            complex_id, community_id = item.requester_id, resolved.community.id
            subdistrict_id = resolved.subdistrict.id
            if lat is None:
                cx = lookup.record("complex", item.requester_id, field)
                if cx.lat is not None:
                    lat, lon = cx.lat, cx.lon
        else:
            region = lookup.record("region", item.requester_id, field)
            if region.level != "community":
                errors.append({"field": field, "type": "not_a_community",
                               "message": f"{item.requester_id!r} is a {region.level}, not a community"})
                continue
            community_id, subdistrict_id = region.id, region.parent_id
        if lat is None and community_id is not None:
            region = lookup.record("region", community_id, field)
            if region.lat is not None:
                lat, lon = region.lat, region.lon
        if lat is None:
            errors.append({"field": f"{prefix}.lat", "type": "no_location",
                           "message": "no location: give lat/lon, or a requester with a location in the registry"})
            continue
        rows.append(dict(
            district=district, id=item.id or f"ND-{uuid.uuid4().hex[:12]}", requester_kind=item.requester_kind,
            requester_id=item.requester_id, complex_id=complex_id, community_id=community_id,
            subdistrict_id=subdistrict_id, title=item.title, description=item.description, category=category,
            category_source=source, kind=kind, quantity=item.quantity, unit=item.unit,
            base_quantity=base_quantity(item.quantity, item.unit), priority=item.priority,
            needed_from=item.needed_from, needed_by=item.needed_by, budget_estimate=item.budget_estimate,
            lat=lat, lon=lon, notes=item.notes, status="open", dirty=True, created_at=now, updated_at=now))
    if errors:
        raise ValidationFailed.for_fields(errors)
    return rows
