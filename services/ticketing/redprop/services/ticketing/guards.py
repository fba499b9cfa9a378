"""Who may change a ticket, and from which status: the checks every transition starts with.

Each raises the typed error a caller sees (a conflict for a refused transition, a permission error
for the wrong actor), naming the ticket and what would have been allowed.

The operation's permit (contracts/ticketing.py) has already checked, before the operation ran, that the
acting person is known to the registry and holds a post of the right kind. Here the record decides:
:func:`admit` asks whether the actor's posts reach *this* ticket (``authz`` is the worker's
:class:`redprop.authz.Authorizer`). A ticket the actor may not see is ``not_found`` exactly as a missing
one (no existence oracle: a guessed id tells nothing, not even by a 403 or a 409 on its status), so
:func:`admit` runs before any status check.
"""

from __future__ import annotations

from redprop.contracts import ticketing as c
from redprop.contracts.registry import (
    COMPANY_ROLES,
    GRID_TEAM_ROLES,
    MEDIATOR_ROLES,
    OFFICIAL_ROLES,
)
from redprop.errors import Conflict, NotFound, PermissionDenied

#: The posts that let a person act for each kind of handler unit.
OFFICE_ROLES = {"community": OFFICIAL_ROLES, "subdistrict": ("subdistrict_officer", "district_officer"),
                "district": ("district_officer",)}


def status(row, allowed: tuple[str, ...], action: str) -> None:
    if row.status not in allowed:
        raise Conflict(f"cannot {action} ticket {row.id}: it is {row.status} (allowed from: {', '.join(allowed)})",
                       {"ticket_id": row.id, "status": row.status, "action": action})


def holder(row, actor: c.Actor, action: str) -> None:
    if not (actor.kind == "handler" and actor.handler_kind == row.handler_kind and actor.id == row.handler_id):
        raise PermissionDenied(f"only the unit holding ticket {row.id} may {action} it",
                               {"ticket_id": row.id, "field": "actor"})


def resident(row, actor: c.Actor, action: str) -> None:
    if not (actor.kind == "resident" and actor.id == row.resident_id):
        raise PermissionDenied(f"only the resident who placed ticket {row.id} may {action} it",
                               {"ticket_id": row.id, "field": "actor"})


def kind(actor: c.Actor, kinds: tuple[str, ...], action: str, row) -> None:
    if actor.kind not in kinds:
        raise PermissionDenied(f"a {actor.kind} may not {action} ticket {row.id} (only: {', '.join(kinds)})",
                               {"ticket_id": row.id, "field": "actor.kind"})


# -- the record: whose posts reach this ticket ------------------------------------------------------


def place_of(row) -> str:
    """The narrowest place of the ticket on the governance map (a post must cover it)."""
    return row.building_id or row.complex_id


def staff_covers(authz, person_id: str, place_id: str) -> bool:
    """A worker's or official's post covers the place (grid worker of its grid, community worker...)."""
    return authz.holds(person_id, c.STAFF_ROLES, within=place_id)


def require_staff(authz, person_id: str, place_id: str, field: str = "actor") -> None:
    if not staff_covers(authz, person_id, place_id):
        raise PermissionDenied(f"none of {person_id}'s worker or official posts covers {place_id}",
                               {"field": field, "check": "scope", "within": place_id,
                                "roles": list(c.STAFF_ROLES)})


def acts_for(authz, actor: c.Actor, place_id: str | None = None) -> bool:
    """The handler actor's person holds a post in the unit it names."""
    person, unit = actor.person_id, actor.id
    if actor.handler_kind == "property_company":
        return any(g.organisation_id == unit for g in authz.posts(person, COMPANY_ROLES))
    if actor.handler_kind == "department":
        return any(g.organisation_id == unit for g in authz.posts(person, ("department_contact",)))
    if actor.handler_kind == "grid_team":
        # The grid's team: a post whose place is the grid, inside it (a building leader) or above it.
        posts = authz.posts(person, GRID_TEAM_ROLES)
        if not posts:
            return False
        try:
            above = set(authz.ancestry(unit))
        except NotFound:  # no such grid: nobody acts for it
            return False
        return any(place in above or unit in authz.ancestry(place) for g in posts for place in g.covers)
    if actor.handler_kind in OFFICE_ROLES:
        return authz.holds(person, OFFICE_ROLES[actor.handler_kind], within=unit)
    if actor.handler_kind == "mediation":  # a mediator whose scope covers the ticket
        return place_id is not None and authz.holds(person, MEDIATOR_ROLES, within=place_id)
    return False


def require_acts_for(authz, actor: c.Actor, place_id: str | None = None) -> None:
    if not acts_for(authz, actor, place_id):
        raise PermissionDenied(f"{actor.person_id} holds no post in {actor.handler_kind} {actor.id}",
                               {"field": "actor.person_id", "check": "role", "unit": actor.id})


def holds_ticket(row, actor: c.Actor) -> bool:
    return actor.kind == "handler" and actor.handler_kind == row.handler_kind and actor.id == row.handler_id


def admit(authz, row, actor: c.Actor, field: str = "ticket_id") -> None:
    """The actor may act on this ticket at all: the resident who placed it, a worker or official covering
    its place (else ``permission_denied``, check=scope), the person acting for the unit holding it. A ticket
    the actor may not see is ``not_found``, word for word as a missing one."""
    if actor.kind == "worker":
        require_staff(authz, actor.id, place_of(row))
        return
    if actor.kind == "handler":
        require_acts_for(authz, actor, place_of(row))
        if holds_ticket(row, actor):
            return
    elif actor.kind == "resident" and actor.id == row.resident_id:
        return
    raise NotFound.entity("ticket", row.id, field)


def may_see(authz, row, viewer: c.Actor) -> bool:
    """``admit`` as a yes or no, for reads: anything it refuses reads as not found."""
    try:
        admit(authz, row, viewer)
    except (NotFound, PermissionDenied):
        return False
    return True
