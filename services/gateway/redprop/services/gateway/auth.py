"""Who is calling, and whether their role may do this.

A caller is one of:
- an API key, sent as ``X-API-Key: <key>``, ``Authorization: Bearer <key>`` or (Open311) ``api_key``:
  configured in ``options.api_keys`` (the seed and migration path) or kept in the gateway's database
  (``redprop gateway keys``: expiry, rotation, revocation at run time);
- a person's login session, the ``redprop_session`` cookie (``POST /api/v1/session``); a state-changing
  request with it must also send ``X-Requested-With: redprop`` (a cross-site form cannot send it: CSRF);
- (optional) an OIDC bearer JWT of the configured issuer (``oidc.py``).
A session's or a JWT's person gets the gateway role their registry posts give (``people.py``). The
gateway serves one district: a key issued for another district is refused even if its hash is
configured. The services still check the actor of each command (the resident who placed a ticket
rates it); the role table here only keeps each kind of caller to its own kind of operation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from nameko.extensions import DependencyProvider

from redprop.clock import utcnow
from redprop.config import settings_from_config
from redprop.errors import PermissionDenied, RedpropError
from redprop.service import choices_of
from redprop.services.gateway import keys as stored_keys
from redprop.services.gateway import people, sessions
from redprop.services.gateway.keys import hash_key
from redprop.services.gateway.oidc import OidcVerifier
from redprop.services.gateway.oidc_login import OidcLogin
from redprop.services.gateway.options import ROLES, GatewayOptions
from redprop.services.gateway.ratelimit import FailureCounter

ALL = frozenset(ROLES)
WORKERS = frozenset({"grid_worker", "community_admin", "operator"})
HANDLERS = frozenset({"property_company", "department"})
#: Methods that change nothing: a cookie needs no CSRF header for them.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER, CSRF_VALUE = "X-Requested-With", "redprop"

#: permission -> the roles that have it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "me": ALL,
    "catalogue.read": ALL,
    "places.read": ALL,
    "tickets.read": ALL,
    "tickets.photos": ALL,               # add a photo to a ticket one may see (residents their own)
    # Delete one: the uploader while the ticket is open, or the community's worker (photos_routes.py).
    "tickets.photos.delete": ALL,
    "tickets.submit": frozenset({"resident"}) | WORKERS,
    "tickets.rate": frozenset({"resident"}),
    "tickets.reopen": frozenset({"resident"}),
    "tickets.cancel": frozenset({"resident"}) | WORKERS,
    "tickets.handle": HANDLERS,          # accept, reject, resolve
    "tickets.note": HANDLERS | WORKERS,  # a progress note: ticketing lets any party to the ticket write one
    "tickets.manage": WORKERS,           # dispatch, transfer, close, escalate
    "consultations.read": ALL,
    "consultations.vote": frozenset({"resident", "community_admin"}),
    "league.read": ALL,
    "participation.read": ALL,           # my points, my turns, the boards
    "activities.read": WORKERS,
    # Organising is for the community's workers (participation's permit: workers and party committee);
    # the district's operator is neither, so the service would refuse it anyway.
    "activities.organise": frozenset({"grid_worker", "community_admin"}),
    "projects.read": ALL,
    # The resource and demand lists are the hub's (matching's permit: workers and street/district officers).
    "matching.read": WORKERS,
    "matching.decide": WORKERS,
}


class Unauthorized(RedpropError):
    """No key, or a key the gateway does not know (HTTP 401)."""

    code = "unauthorized"
    retryable = False


__all__ = ["Gatekeeper", "Principal", "Unauthorized", "hash_key"]


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    district: str
    subject: str
    #: The registry person behind the caller (a session's, a JWT's, a stored key's holder), if known.
    person_id: str | None = None
    #: How the caller proved who they are: key, session or jwt.
    via: str = "key"
    posts: tuple[people.Post, ...] = field(default=())

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


def require_csrf_header(request) -> None:
    """A cookie goes with every request the browser makes, a cross-site form's too; this header does not."""
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise PermissionDenied(f"a request that changes something with a session cookie must send the header "
                               f"{CSRF_HEADER}: {CSRF_VALUE}", {"header": CSRF_HEADER})


class _Memo:
    """Answers kept ``ttl`` seconds (a key's row, the registry's posts), so revocation shows within it."""

    def __init__(self, ttl: float, size: int = 10_000):
        self.ttl, self.size = ttl, size
        self._entries: dict[Any, tuple[float, Any]] = {}

    def get(self, key, load):
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        if value is None:  # a miss is not kept: a key just added works at once
            return None
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


class Gatekeeper(DependencyProvider):
    """Identifies the caller of each HTTP request inside its worker (with the worker's database session and
    registry proxy) and checks the route's permission."""

    def setup(self):
        self.options: GatewayOptions = choices_of(self.container).options
        self.district = settings_from_config(self.container.config).district
        self.config_keys = {k.sha256: k for k in self.options.api_keys}
        self.failures = FailureCounter(self.options.login_limits)
        self.key_rows = _Memo(self.options.auth_cache_ttl)
        self.posts = _Memo(self.options.roles_cache_ttl, size=1)
        self.names = _Memo(self.options.roles_cache_ttl)
        self.oidc = OidcVerifier(self.options.oidc) if self.options.oidc is not None else None
        #: Logging in through the identity provider (the app's button), when the gateway is its client.
        self.oidc_login = (OidcLogin(self.options.oidc, self.oidc, self.options.base_url())
                           if self.oidc is not None and self.options.oidc.client_id else None)

    def get_dependency(self, worker_ctx) -> Gatekeeper:
        return self

    # -- people ------------------------------------------------------------------------------------

    def person(self, registry, person_id: str) -> people.Person | None:
        """The registry person and their posts today; None if the registry does not know them."""
        name = self.names.get(person_id, lambda: people.person_name(registry, person_id))
        if name is None:
            return None
        posts = self.posts.get("all", lambda: people.role_map(registry)).get(person_id, ())
        return people.Person(person_id=person_id, name=name, posts=posts)

    def person_principal(self, person: people.Person, via: str) -> Principal:
        role, subject = person.access()
        return Principal(name=person.name, role=role, district=self.district, subject=subject,
                         person_id=person.person_id, via=via, posts=person.posts)

    # -- identify ----------------------------------------------------------------------------------

    def identify(self, service, request) -> Principal:
        key = presented_key(request)
        if key is not None:
            if self.oidc is not None and self.oidc.looks_like_jwt(key):
                return self._jwt(service, key)
            return self._key(service, key)
        token = request.cookies.get(sessions.COOKIE)
        if token:
            return self._session(service, request, token)
        raise Unauthorized("an API key (X-API-Key header) or a login session is required", {"header": "X-API-Key"})

    def _key(self, service, key: str) -> Principal:
        digest = hash_key(key)
        entry = self.config_keys.get(digest)
        if entry is not None:
            self._same_district(entry.district)
            return Principal(name=entry.name, role=entry.role, district=entry.district, subject=entry.subject,
                             person_id=getattr(entry, "person_id", None))
        stored = self.key_rows.get(digest, lambda: stored_keys.find(service.db, digest))
        if stored is None:
            raise Unauthorized("unknown API key", {"header": "X-API-Key"})
        self._same_district(stored.district)
        if not stored.usable(utcnow()):
            raise Unauthorized(f"this API key is {stored.state(utcnow())}", {"header": "X-API-Key"})
        if stored.person_id is not None and self.person(service.registry, stored.person_id) is None:
            raise Unauthorized("the key's holder is not a person of the registry", {"header": "X-API-Key"})
        return Principal(name=stored.name, role=stored.role, district=stored.district, subject=stored.subject,
                         person_id=stored.person_id)

    def _same_district(self, district: str) -> None:
        if district != self.district:
            raise PermissionDenied(f"this key belongs to district {district}; this gateway serves "
                                   f"district {self.district}", {"district": district})

    def _session(self, service, request, token: str) -> Principal:
        live = sessions.lookup(service.db, self.district, token, self.options.sessions)
        service.db.commit()  # the idle clock's touch, or the removal of a dead session
        if live is None:
            raise Unauthorized("the session has ended; log in again", {"cookie": sessions.COOKIE})
        require_csrf_header(request)
        person = self.person(service.registry, live.person_id)
        if person is None:
            raise Unauthorized("the account's person is not in the registry", {"cookie": sessions.COOKIE})
        return self.person_principal(person, "session")

    def _jwt(self, service, token: str) -> Principal:
        person_id = self.oidc.person_id(token)
        person = self.person(service.registry, person_id)
        if person is None:
            raise Unauthorized("the token's person is not in the registry", {"header": "Authorization"})
        return self.person_principal(person, "jwt")

    def authorise(self, service, request, permission: str) -> Principal:
        principal = self.identify(service, request)
        if not principal.may(permission):
            raise PermissionDenied(f"a {principal.role} may not do this ({permission})",
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
    """A resident sees their own tickets; a company or a department only those dispatched to it (not every
    ticket of a complex it runs: the minimum necessary, PIPL Art. 6); workers the district's."""
    if principal.role == "resident":
        return ticket.resident_id == principal.subject
    if principal.role in HANDLERS:
        return ticket.handler is not None and ticket.handler.id == principal.subject
    return ticket.district == principal.district
