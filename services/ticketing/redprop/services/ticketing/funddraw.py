"""A resolution paid from the emergency repair fund draws from the projects service's ledger
(``options.fund_ledger: projects``): no more unlimited fund use.

The draw is a synchronous ``projects.draw_for_ticket`` call made after the desk has priced the repair and
before the resolve commits. A refusal (the fund is empty, or the complex has none) refuses the resolve, and
nothing of it is written. The draw's request id is fixed by the ticket and its reopen count, so a retried
resolve (the same request, or a new one after a failed commit) finds the first draw's reply instead of
drawing twice: a request is never lost nor counted twice (docs/projects.md).
"""

from __future__ import annotations

from decimal import Decimal

from nameko.exceptions import UnknownService

from redprop.contracts import ticketing as c
from redprop.errors import Unavailable, ValidationFailed
from redprop.services.ticketing.views import TicketRecord


def draw_request_id(row: TicketRecord) -> str:
    return f"ticket-fund:{row.id}:{row.reopen_count}"[:64]


def draw_for_resolution(projects, ledger: str, row: TicketRecord, request: c.ResolveRequest) -> None:
    """Draw the repair's cost from the complex's emergency fund, or raise the ledger's refusal."""
    if ledger != "projects" or request.funding_source != "emergency_repair_fund" or not row.cost:
        return
    if request.actor.person_id is None:
        # Public money: the ledger names the person who answers for the repair, not only their unit.
        raise ValidationFailed.for_field("actor.person_id", "a repair paid from the emergency repair fund names the "
                                         "person resolving it", "missing")
    fen = int((Decimal(row.cost) * 100).to_integral_value())
    actor = request.actor.person_id
    try:
        projects.draw_for_ticket(request_id=draw_request_id(row), ticket_id=row.id, complex_id=row.complex_id,
                                 amount=fen, purpose=f"ticket {row.id} ({row.category}): {request.summary[:200]}",
                                 actor=actor)
    except UnknownService:  # a command's target not running: the resolve waits for the ledger, unrecorded
        raise Unavailable("the emergency fund's ledger (the projects service) is not running; the resolve is not "
                          "recorded, try again", {"field": "funding_source", "service": "projects"}) from None
