"""Who may call an operation: every permit checked against the registry's people and posts.

Each operation of a contract declares a :class:`~redprop.contracts.base.Permit`. The service base class
wraps every ``@query`` and ``@command`` so that, inside the worker and before the operation runs, the
acting person named by the request is looked up in the registry (``registry.grants``): refused if the
registry does not know them, if they hold none of the permit's roles today, or if none of their posts
covers the place the request is about (``registry.ancestry``). A refusal is ``permission_denied`` with
``details.check`` = ``known`` | ``role`` | ``scope`` and ``details.field`` = the actor's field.

Answers are kept per container for ``TTL`` seconds and forgotten at once when the registry announces a
change of roles or structure (the base class's broadcast handlers), so a post that ends stops working
within a broadcast, and within ``TTL`` at worst if the broadcast was missed.

Services use the same object for their record-level rules: ``self.authz.holds(person, roles, within=...)``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from redprop.contracts.base import Permit, Request
from redprop.contracts.registry import AncestryReply, GrantsReply
from redprop.errors import NotFound, PermissionDenied
from redprop.messaging.client import ServiceRpc

CHINA = ZoneInfo("Asia/Shanghai")
TTL = 60.0
CACHE_SIZE = 20_000


def beijing_today() -> date:
    return datetime.now(CHINA).date()


def field_value(request: Any, path: str) -> Any:
    """``request.actor.person_id`` for the path ``"actor.person_id"``; None if any step is None."""
    value = request
    for step in path.split("."):
        value = getattr(value, step, None)
        if value is None:
            return None
    return value


class AnswerCache:
    """The registry's answers, kept ``ttl`` seconds; errors (an unknown place) are not kept."""

    def __init__(self, ttl: float = TTL, size: int = CACHE_SIZE):
        self.ttl, self.size = ttl, size
        self._entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()

    def get(self, key: tuple, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            self._entries.move_to_end(key)
            return entry[1]
        value = load()
        self._entries[key] = (now + self.ttl, value)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()


class Authorizer:
    """One worker's view: permits and record-level questions, answered from the registry."""

    def __init__(self, grants: Callable[[str, date], GrantsReply], ancestry: Callable[[str], AncestryReply],
                 cache: AnswerCache):
        self._grants, self._ancestry, self._cache = grants, ancestry, cache

    # -- what the registry says ----------------------------------------------------------------------

    def grants_of(self, person_id: str, on: date | None = None) -> GrantsReply:
        day = on or beijing_today()
        return self._cache.get(("grants", person_id, day), lambda: self._grants(person_id, day))

    def ancestry(self, entity_id: str, field: str | None = None) -> list[str]:
        try:
            return self._cache.get(("ancestry", entity_id), lambda: self._ancestry(entity_id).ancestry)
        except NotFound:
            raise NotFound(f"no place, household or organisation {entity_id!r}",
                           {"entity": "place", "id": entity_id, "field": field}) from None

    def forget(self) -> None:
        """Drop every kept answer (the registry announced a change)."""
        self._cache.clear()

    def known(self, person_id: str) -> bool:
        return self.grants_of(person_id).known

    def posts(self, person_id: str, roles: Iterable[str] = (), within: str | None = None) -> list:
        """The person's posts today among ``roles`` (all if empty) that cover ``within`` (if given)."""
        wanted = set(roles)
        held = [g for g in self.grants_of(person_id).grants if not wanted or g.role in wanted]
        if within is None or not held:
            return held
        above = set(self.ancestry(within))
        return [g for g in held if above.intersection(g.covers)]

    def holds(self, person_id: str, roles: Iterable[str] = (), within: str | None = None) -> bool:
        return bool(self.posts(person_id, roles, within))

    # -- permits -----------------------------------------------------------------------------------

    def require(self, permit: Permit, request: Request) -> str | None:
        """Refuse the request unless its actor satisfies ``permit``; returns the actor's id."""
        if permit.is_public:
            return None
        actor = field_value(request, permit.actor)
        details = {"field": permit.actor, "rule": permit.rule}
        if actor is None:
            raise PermissionDenied(f"{permit.actor} must name the person acting", {**details, "check": "known"})
        grants = self.grants_of(actor)
        if not grants.known:
            raise PermissionDenied(f"{actor} is not a person this district's registry knows",
                                   {**details, "check": "known"})
        if not permit.roles:
            return actor
        held = [g for g in grants.grants if g.role in permit.roles]
        if not held:
            raise PermissionDenied(f"{actor} holds none of the posts this needs ({', '.join(permit.roles)})",
                                   {**details, "check": "role", "roles": list(permit.roles)})
        target = field_value(request, permit.within) if permit.within else None
        if target is not None:
            above = set(self.ancestry(target, permit.within))
            if not any(above.intersection(g.covers) for g in held):
                raise PermissionDenied(f"none of {actor}'s posts ({', '.join(sorted({g.role for g in held}))}) "
                                       f"covers {target}", {**details, "check": "scope", "within": permit.within})
        return actor


class Authz(ServiceRpc):
    """``self.authz`` in every service: an :class:`Authorizer` that asks the registry over RPC."""

    def __init__(self):
        super().__init__("registry")

    def setup(self):
        super().setup()
        self.cache = AnswerCache()

    def get_dependency(self, worker_ctx) -> Authorizer:
        proxy = super().get_dependency(worker_ctx)
        return Authorizer(lambda person, day: proxy.grants(person_id=person, on=day),
                          lambda entity: proxy.ancestry(id=entity), self.cache)
