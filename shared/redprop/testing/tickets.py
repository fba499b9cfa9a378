"""Ticket helpers for tests of any service that takes part in a ticket's life (ticketing, evaluation,
mediation, the gateway): request ids, the small district's usual actors, a submit and a transition.

The actors are registry people of the small district (tests/conftest.py ``OFFICIALS``): ticketing checks
every actor's posts (redprop.authz and its own record-level rules)."""

from __future__ import annotations

import itertools
import uuid

from redprop.contracts.ticketing import Actor

#: The community worker of C1 (every ticket of the small district is in C1).
WORKER = Actor(kind="worker", id="P-CW")
RESIDENT = Actor(kind="resident", id="P2")
#: CO1's staff member acting for the company.
COMPANY = Actor(kind="handler", handler_kind="property_company", id="CO1", person_id="P-CS")
#: The water department's contact acting for it.
WATER = Actor(kind="handler", handler_kind="department", id="DEP-WATER", person_id="P-WATER")
#: The community worker acting for the community's office (a ticket escalated or routed to C1).
COMMUNITY = Actor(kind="handler", handler_kind="community", id="C1", person_id="P-CW")
#: The operator (runs the SLA sweep); the district officer (sets the district's price list).
OPERATOR, DISTRICT_OFFICER = "P-OPS", "P-DO"
#: Who acts for each handler unit of the small district (by unit id; P1 is a building leader of grid G2).
PEOPLE_OF_UNITS = {"CO1": "P-CS", "DEP-WATER": "P-WATER", "C1": "P-CW", "S": "P-SD", "990001": "P-DO",
                   "G2": "P1", "mediation": "P-MED"}
_ids = itertools.count(1)


def holder(ticket, person_id: str | None = None) -> Actor:
    """The handler actor for the unit holding ``ticket`` now, through its person in the small district."""
    unit = ticket.handler
    return Actor(kind="handler", handler_kind=unit.kind, id=unit.id,
                 person_id=person_id or PEOPLE_OF_UNITS[unit.id])


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


def _rpc(suite):
    from redprop.messaging.client import RpcClient

    return suite if isinstance(suite, RpcClient) else suite.rpc  # an rpc client, or a Suite


def get_ticket(suite, ticket_id: str, viewer: Actor = WORKER):
    """The ticket as ``viewer`` (the community worker, who sees every ticket of C1) reads it."""
    return _rpc(suite).ticketing.get(ticket_id=ticket_id, viewer=viewer.model_dump()).ticket


def list_tickets(suite, viewer: Actor = WORKER, **filters):
    """``ticketing.list`` as ``viewer`` (the community worker by default) reads it."""
    return _rpc(suite).ticketing.list(viewer=viewer.model_dump(), **filters)


def sweep(suite, now=None, **fields):
    """The SLA sweep now (or at ``now``), run by the operator."""
    body = {"actor": OPERATOR, "request_id": rid("sweep"), **fields}
    if now is not None:
        body["now"] = now.isoformat()
    return suite.rpc.ticketing.sweep(**body)


def set_price_list(suite, items, company_id=None, actor: str = DISTRICT_OFFICER):
    """Replace a price list as ``actor`` (the district officer by default)."""
    return suite.rpc.ticketing.set_price_list(request_id=rid("prices"), actor=actor, company_id=company_id,
                                              items=items)
