"""Ticket helpers for tests of any service that takes part in a ticket's life (ticketing, evaluation,
mediation, the gateway): request ids, the small district's usual actors, a submit and a transition."""

from __future__ import annotations

import itertools
import uuid

from redprop.contracts.ticketing import Actor

WORKER = Actor(kind="worker", id="W1")
RESIDENT = Actor(kind="resident", id="P2")
COMPANY = Actor(kind="handler", handler_kind="property_company", id="CO1")
_ids = itertools.count(1)


def rid(prefix: str = "req") -> str:
    """A fresh request id (idempotency key)."""
    return f"{prefix}-{next(_ids):05d}-{uuid.uuid4().hex[:6]}"


def submit(suite, **fields):
    """Resident P2 reports a leak in building B1 (override any field)."""
    body = {"resident_id": "P2", "category": "leak", "building_id": "B1",
            "description": "楼道顶棚漏水，雨天更严重", "request_id": rid("submit"), **fields}
    return suite.rpc.ticketing.submit(**body).ticket


def act(suite, operation: str, ticket_id: str, actor: Actor, **fields):
    """One transition of a ticket (accept, resolve, rate...) by ``actor``."""
    return suite.rpc.call("ticketing", operation, {"ticket_id": ticket_id, "actor": actor.model_dump(),
                                                   "request_id": rid(operation), **fields}).ticket
