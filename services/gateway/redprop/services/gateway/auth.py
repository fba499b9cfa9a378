"""API keys and roles: who is calling, and whether their role may do this.

A key is sent as ``X-API-Key: <key>``, ``Authorization: Bearer <key>`` or (Open311) ``api_key``.
The gateway serves one district: a key issued for another district is refused even if its hash is
configured. The services still check the actor of each command (the resident who placed a ticket
rates it); the role table here only keeps each kind of caller to its own kind of operation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from redprop.errors import PermissionDenied, RedpropError
from redprop.services.gateway.options import ROLES, GatewayOptions

ALL = frozenset(ROLES)
WORKERS = frozenset({"grid_worker", "community_admin", "operator"})
HANDLERS = frozenset({"property_company", "department"})

#: permission -> the roles that have it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "me": ALL,
    "catalogue.read": ALL,
    "places.read": ALL,
    "tickets.read": ALL,
    "tickets.submit": frozenset({"resident"}) | WORKERS,
    "tickets.rate": frozenset({"resident"}),
    "tickets.reopen": frozenset({"resident"}),
    "tickets.cancel": frozenset({"resident"}) | WORKERS,
    "tickets.handle": HANDLERS,          # accept, reject, note, resolve
    "tickets.manage": WORKERS,           # dispatch, transfer, close, escalate
    "consultations.read": ALL,
    "consultations.vote": frozenset({"resident", "community_admin"}),
    "league.read": ALL,
}


class Unauthorized(RedpropError):
    """No key, or a key the gateway does not know (HTTP 401)."""

    code = "unauthorized"
    retryable = False


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    district: str
    subject: str
    #: The registry person behind the caller (a unit's key: the person it is issued to), if known.
    person_id: str | None = None

    def actor(self) -> dict[str, Any]:
        """The ticketing ``actor`` this caller is."""
        if self.role == "resident":
            return {"kind": "resident", "id": self.subject}
        if self.role in HANDLERS:
            actor = {"kind": "handler", "id": self.subject, "handler_kind": self.role}
            if self.person_id is not None:  # the company's or department's person acting for it
                actor["person_id"] = self.person_id
            return actor
        return {"kind": "worker", "id": self.subject}

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def presented_key(request) -> str | None:
    key = request.headers.get("X-API-Key")
    if not key:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else None
    if not key:
        key = request.args.get("api_key")
    if not key and request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        key = request.form.get("api_key")
    return key or None


class Authenticator:
    def __init__(self, options: GatewayOptions, district: str):
        self.district = district
        self.keys = {k.sha256: k for k in options.api_keys}

    def identify(self, request) -> Principal:
        key = presented_key(request)
        if key is None:
            raise Unauthorized("an API key is required (X-API-Key header)", {"header": "X-API-Key"})
        entry = self.keys.get(hash_key(key))
        if entry is None:
            raise Unauthorized("unknown API key", {"header": "X-API-Key"})
        if entry.district != self.district:
            raise PermissionDenied(f"this key belongs to district {entry.district}; this gateway serves "
                                   f"district {self.district}", {"district": entry.district})
        return Principal(name=entry.name, role=entry.role, district=entry.district, subject=entry.subject,
                         person_id=entry.person_id)

    def authorise(self, request, permission: str) -> Principal:
        principal = self.identify(request)
        if not principal.may(permission):
            raise PermissionDenied(f"a {principal.role} key may not do this ({permission})",
                                   {"role": principal.role, "permission": permission})
        return principal


# -- what each caller sees -----------------------------------------------------------------------------


def ticket_filters(principal: Principal) -> dict[str, str]:
    """Filters forced onto ticket lists: a resident sees their own, a handler what it holds."""
    if principal.role == "resident":
        return {"resident_id": principal.subject}
    if principal.role in HANDLERS:
        return {"handler_id": principal.subject}
    return {}


def reporter_fields(principal: Principal, named: str | None, field: str,
                    default: str | None = None) -> dict[str, str] | None:
    """Who a new ticket is for, the one rule for REST and Open311: a resident key submits only for its own
    resident; any other key names the resident (``named``, else ``default``) and is recorded as having
    entered it. None when a non-resident key names nobody (each API answers that in its own way)."""
    if principal.role == "resident":
        if named not in (None, principal.subject):
            raise PermissionDenied("a resident key submits only for its own resident", {"field": field})
        return {"resident_id": principal.subject}
    reporter = named or default
    if reporter is None:
        return None
    return {"resident_id": reporter, "entered_by": principal.subject}


def may_see_ticket(principal: Principal, ticket) -> bool:
    if principal.role == "resident":
        return ticket.resident_id == principal.subject
    if principal.role == "property_company":
        return ticket.property_company_id == principal.subject or (
            ticket.handler is not None and ticket.handler.id == principal.subject)
    if principal.role == "department":
        return ticket.handler is not None and ticket.handler.id == principal.subject
    return ticket.district == principal.district
