"""Whose post covers what, read from the registry: the places above a complex or region, and whether a person
holds one of some roles there today. A post covers an entity when its scope is that entity or one above it."""

from __future__ import annotations

from dataclasses import dataclass

from redprop.errors import NotFound, PermissionDenied


@dataclass(frozen=True)
class Place:
    """A complex or a region, with the places above it (itself included)."""

    id: str
    complex_id: str | None
    community_id: str | None
    subdistrict_id: str | None
    chain: frozenset[str]


def complex_place(registry, complex_id: str, field: str = "complex_id") -> Place:
    try:
        r = registry.resolve(complex_id=complex_id)
    except NotFound:
        raise NotFound.entity("complex", complex_id, field) from None
    return Place(complex_id, complex_id, r.community.id, r.subdistrict.id,
                 frozenset({complex_id, r.community.id, r.subdistrict.id, r.district_region.id}))


def region_place(registry, region_id: str, field: str) -> Place:
    chain, level, community, subdistrict, at = [], None, None, None, region_id
    while at is not None:
        try:
            record = registry.get(kind="region", id=at).record
        except NotFound:
            raise NotFound.entity("region", region_id, field) from None
        level = level or record.level
        community = community or (record.id if record.level == "community" else None)
        subdistrict = subdistrict or (record.id if record.level == "subdistrict" else None)
        chain.append(record.id)
        at = record.parent_id
    return Place(region_id, None, community, subdistrict, frozenset(chain))


def place_of(registry, scope_id: str, field: str) -> Place:
    """A complex if the registry knows one by that id, else a region."""
    try:
        return complex_place(registry, scope_id, field)
    except NotFound:
        return region_place(registry, scope_id, field)


def person(registry, person_id: str, field: str = "actor") -> None:
    try:
        registry.get(kind="person", id=person_id)
    except NotFound:
        raise NotFound.entity("person", person_id, field) from None


def holds(registry, person_id: str, roles: tuple[str, ...], covering: frozenset[str]) -> str | None:
    """The first of ``roles`` the person holds today in a post covering ``covering`` (a place's chain)."""
    for role in roles:
        for r in registry.list(kind="role", role=role, limit=5000).items:
            if r.person_id == person_id and r.scope_id in covering:
                return role
    return None


def require(registry, person_id: str, roles: tuple[str, ...], place: Place, doing: str,
            field: str = "actor") -> str:
    role = holds(registry, person_id, roles, place.chain)
    if role is None:
        raise PermissionDenied(f"{person_id} holds no post as {' or '.join(roles)} covering {place.id} and cannot "
                               f"{doing}", {"field": field})
    return role
