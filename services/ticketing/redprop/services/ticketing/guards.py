"""Who may change a ticket, and from which status: the checks every transition starts with.

Each raises the typed error a caller sees (a conflict for a refused transition, a permission error
for the wrong actor), naming the ticket and what would have been allowed.
"""

from __future__ import annotations

from redprop.contracts import ticketing as c
from redprop.errors import Conflict, PermissionDenied


def status(row, allowed: tuple[str, ...], action: str) -> None:
    if row.status not in allowed:
        raise Conflict(f"cannot {action} ticket {row.id}: it is {row.status} (allowed from: {', '.join(allowed)})",
                       {"ticket_id": row.id, "status": row.status, "action": action})


def holder(row, actor: c.Actor, action: str) -> None:
    if not (actor.kind == "handler" and actor.handler_kind == row.handler_kind and actor.id == row.handler_id):
        raise PermissionDenied(
            f"only the unit holding ticket {row.id} may {action} it"
            + (f" ({row.handler_kind} {row.handler_id})" if row.handler_id else " (nobody holds it)"),
            {"ticket_id": row.id, "field": "actor", "holder": row.handler_id})


def resident(row, actor: c.Actor, action: str) -> None:
    if not (actor.kind == "resident" and actor.id == row.resident_id):
        raise PermissionDenied(f"only the resident who placed ticket {row.id} may {action} it",
                               {"ticket_id": row.id, "field": "actor"})


def kind(actor: c.Actor, kinds: tuple[str, ...], action: str, row) -> None:
    if actor.kind not in kinds:
        raise PermissionDenied(f"a {actor.kind} may not {action} ticket {row.id} (only: {', '.join(kinds)})",
                               {"ticket_id": row.id, "field": "actor.kind"})
