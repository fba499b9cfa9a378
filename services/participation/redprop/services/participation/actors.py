"""Who may act, checked against the registry: known people, organisers of a community, party members,
and the people and units that reported (报到) to a community.

The contract's permits say who may call each operation; the record-level rules (the activity's own
organiser, a party member's own pledge, the assignee of a task) are checked here.
"""

from __future__ import annotations

from redprop.contracts.participation import ORGANISERS
from redprop.errors import NotFound, PermissionDenied, ValidationFailed


def person(registry, person_id: str, field: str):
    try:
        return registry.get(kind="person", id=person_id).record
    except NotFound:
        raise NotFound.entity("person", person_id, field) from None


def organisation(registry, org_id: str, field: str):
    try:
        return registry.get(kind="organisation", id=org_id).record
    except NotFound:
        raise NotFound.entity("organisation", org_id, field) from None


def community(registry, community_id: str, field: str = "community_id"):
    try:
        record = registry.get(kind="region", id=community_id).record
    except NotFound:
        raise NotFound.entity("community", community_id, field) from None
    if record.level != "community":
        raise ValidationFailed.for_field(field, f"{community_id} is a {record.level}, not a community")
    return record


def complex_in(registry, complex_id: str, community_id: str, field: str = "complex_id"):
    try:
        record = registry.get(kind="complex", id=complex_id).record
    except NotFound:
        raise NotFound.entity("complex", complex_id, field) from None
    if record.community_id != community_id:
        raise ValidationFailed.for_field(field, f"complex {complex_id} is in community {record.community_id}, "
                                                f"not {community_id}")
    return record


def _ancestors(registry, region_id: str) -> list[str]:
    out, current = [], region_id
    while current is not None and len(out) < 10:
        out.append(current)
        try:
            current = registry.get(kind="region", id=current).record.parent_id
        except NotFound:
            break
    return out


def holds_in(registry, person_id: str, roles: tuple[str, ...], community_id: str) -> bool:
    """Whether the person holds one of ``roles`` today over the community: a post scoped on the community
    or inside it, or on one of its ancestors (a subdistrict or the district)."""
    scopes = set(_ancestors(registry, community_id))
    for role in registry.list(kind="role", within=community_id, limit=5000).items:
        if role.person_id == person_id and role.role in roles:
            return True
    for kind in roles:
        for role in registry.list(kind="role", role=kind, limit=5000).items:
            if role.person_id == person_id and role.scope_id in scopes:
                return True
    return False


def check_organiser(registry, actor: str, community_id: str, doing: str) -> None:
    person(registry, actor, "actor")
    if not holds_in(registry, actor, ORGANISERS, community_id):
        raise PermissionDenied(f"{actor} holds no community worker or party committee post in {community_id}, "
                               f"so may not {doing}", {"field": "actor", "community_id": community_id})


def check_party_committee(registry, actor: str, community_id: str) -> None:
    from redprop.contracts.registry import PARTY_COMMITTEE_ROLES

    person(registry, actor, "actor")
    if not holds_in(registry, actor, PARTY_COMMITTEE_ROLES, community_id):
        raise PermissionDenied(f"{actor} is not on the party committee of {community_id}",
                               {"field": "actor", "community_id": community_id})


def party_member(registry, person_id: str, field: str):
    record = person(registry, person_id, field)
    if not record.party_member:
        raise PermissionDenied(f"{person_id} is not a party member (registry), so cannot pledge or hold a post",
                               {"field": field})
    return record


def reports_to(registry, community_id: str) -> list:
    """The registry's report (报到) records of the community."""
    return list(registry.list(kind="report", within=community_id, limit=5000).items)


def reporter(registry, community_id: str, reporter_id: str, field: str = "assignee_id"):
    for report in reports_to(registry, community_id):
        if report.reporter_id == reporter_id:
            return report
    raise ValidationFailed.for_field(field, f"{reporter_id} has not reported (报到) to community {community_id}")
