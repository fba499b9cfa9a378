"""The dispute loop: a ticket that became a mediation case follows the case.

A neighbour dispute placed as a ticket is referred to mediation (``DisputeReferred``); mediation opens a
case and says so (``mediation.case_opened``), and later that it concluded (``mediation.case_concluded``).

- Case opened: the people's mediation committee holds the ticket (its handler), the committee taking the
  case is the ticket's response, and its SLA clock stops: a case may take the Mediation Law's 30 days,
  longer than any ticket's deadline, so while it is mediated the ticket is neither breached, nor
  escalated, nor counted late against anyone.
- Case concluded: the clock's remaining time is given back (as after a pause for the resident), then the
  ticket is resolved when the parties reached an agreement in effect, and closed with the outcome
  (no agreement and the referral, or a withdrawal) otherwise. The resident still rates a resolved ticket.

The desk's own steps (history, events, notices) record it, so evaluation's KPIs see an ordinary
accept and resolve (or close) by the mediation handler.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from redprop.contracts import ticketing as c
from redprop.contracts.mediation import CaseConcluded, CaseOpened
from redprop.errors import NotFound
from redprop.services.ticketing.lifecycle import TicketDesk, operation
from redprop.services.ticketing.outcome import Outcome
from redprop.services.ticketing.views import TicketRecord

log = logging.getLogger(__name__)

MEDIATION = c.Actor(kind="system", id="mediation")  # the mediation service on its case's word
COMMITTEE = c.Handler(kind="mediation", id="mediation", name="人民调解委员会 people's mediation committee")
#: The statuses in which the SLA clock runs (awaiting_resident is paused already).
RUNNING = ("submitted", "dispatched", "in_progress")


class DisputeDesk(TicketDesk):
    """The ticket desk with the two steps of the dispute loop."""

    @classmethod
    def of(cls, desk: TicketDesk) -> DisputeDesk:
        return cls(desk.session, desk.district, desk.catalogue, desk.policy, desk.router,
                   desk.sla.at_risk_fraction, desk.clock)

    @operation
    def enter_mediation(self, row: TicketRecord, evt: CaseOpened) -> bool:
        if row.status not in RUNNING:
            return False  # cancelled or finished meanwhile, or already paused: nothing to stop
        now, before = self.clock(), row.status
        row.handler_kind, row.handler_id, row.handler_name = COMMITTEE.kind, COMMITTEE.id, COMMITTEE.name
        if row.dispatched_at is None:
            row.dispatched_at = now
            self._pending.timings.append(("dispatch", row.sla_class, self._since(row.submitted_at)))
        self._respond(row)  # the committee took the case: that answers the resident
        row.status, row.paused_at, row.next_check_at = "in_progress", now, None
        self.sla.update_state(row, now)
        self._record(row, MEDIATION, "mediation_opened", before, case_id=evt.case_id, level=evt.level,
                     scope_id=evt.scope_id, settle_by=evt.settle_by.isoformat())
        self._announce(c.TicketAccepted, row, MEDIATION)
        self._notify(row, "mediation_opened", f"your ticket {row.id} is with the people's mediation committee "
                                              f"(case {evt.case_id}); its clock waits for the mediation",
                     f"resident:{row.resident_id}")
        return True

    @operation
    def leave_mediation(self, row: TicketRecord, evt: CaseConcluded) -> bool:
        if row.status not in c.OPEN_STATUSES:
            return False  # cancelled by the resident meanwhile: the case's end changes nothing
        now, before = self.clock(), row.status
        paused_hours = None
        if row.paused_at is not None and row.status != "awaiting_resident":
            paused_at = row.paused_at
            if row.responded_at is None:
                row.response_due_at = self.policy.extend(row.sla_class, row.response_due_at, paused_at, now)
            row.resolution_due_at = self.policy.extend(row.sla_class, row.resolution_due_at, paused_at, now)
            row.resolution_clock_from += now - paused_at
            row.paused_at = None
            paused_hours = round((now - paused_at).total_seconds() / 3600, 2)
        self._respond(row)
        detail = dict(case_id=evt.case_id, case_state=evt.state, paused_hours=paused_hours, referral=evt.referral,
                      referred_to=evt.referred_to)
        if evt.state == "settled":
            row.status, row.resolved_at, row.next_check_at = "resolved", now, None
            row.cost, row.cost_lines, row.funding_source = Decimal("0.00"), [], "none"
            self._pending.timings.append(("resolve", row.sla_class, self._since(row.submitted_at)))
            self._record(row, MEDIATION, "resolved", before, summary=f"调解达成协议 agreement in case {evt.case_id}",
                         **detail)
            self._announce(c.TicketResolved, row, MEDIATION, cost=row.cost, funding_source="none")
            self._notify(row, "resolved", f"ticket {row.id} is resolved by a mediation agreement; please confirm "
                                          "and rate", f"resident:{row.resident_id}")
        else:
            row.status, row.closed_at, row.next_check_at = "closed", now, None
            self._record(row, MEDIATION, "closed", before, note=_closing_note(evt), **detail)
            self._announce(c.TicketClosed, row, MEDIATION)
            self._notify(row, "closed", f"ticket {row.id} is closed: {_closing_note(evt)}",
                         f"resident:{row.resident_id}")
        return True


def _closing_note(evt: CaseConcluded) -> str:
    if evt.state == "withdrawn":
        return f"the dispute was withdrawn from mediation (case {evt.case_id})"
    where = f" to {evt.referred_to}" if evt.referred_to else ""
    referral = f"; referred ({evt.referral}){where}" if evt.referral else ""
    return f"mediation ended without agreement (case {evt.case_id}){referral}"


def follow(desk: TicketDesk, evt: CaseOpened | CaseConcluded) -> Outcome | None:
    """The outcome for the service to settle, or None when the case did not come from a ticket here."""
    if evt.ticket_id is None:
        return None
    dispute = DisputeDesk.of(desk)
    try:
        row = dispute.load(evt.ticket_id)
    except NotFound:
        log.warning("mediation case %s names ticket %s, which this district does not hold", evt.case_id,
                    evt.ticket_id)
        return None
    if isinstance(evt, CaseOpened):
        return dispute.enter_mediation(row, evt)
    return dispute.leave_mediation(row, evt)
