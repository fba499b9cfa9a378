"""The ticket state machine: who may do what, and when; every transition recorded, announced, timed.

    submitted -> dispatched -> in_progress <-> awaiting_resident -> resolved -> closed
                     ^   |        |                                  |
                     |   +-reject-+ (re-dispatch; the second rejection escalates)
                     +------------------------ reopen ---------------+
    any open state -> cancelled (by the resident or a worker; follow / merge for duplicates)

A :class:`TicketDesk` reads but writes nothing: every operation changes the ticket records it was
given and returns an :class:`~.outcome.Outcome` (rows to insert and update, events, notices, metrics) that the
service settles in one place (``TicketingService._settle``). So the desk runs over any connection, a
unit test's SQLite included, and intake can hand its rows to the group commit unchanged.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.contracts import ticketing as c
from redprop.errors import Conflict, NotFound, PermissionDenied
from redprop.services.ticketing import guards, pricing, views
from redprop.services.ticketing.catalogue import Catalogue
from redprop.services.ticketing.models import fund_uses, history, tickets
from redprop.services.ticketing.notifiers import Notice
from redprop.services.ticketing.outcome import Outcome
from redprop.services.ticketing.routing import Router, RoutingContext
from redprop.services.ticketing.sla import SlaClock, SlaPolicy
from redprop.services.ticketing.views import TicketRecord

SYSTEM = c.Actor(kind="system", id="ticketing")


def operation(method):
    """A desk operation: it gathers into a fresh :class:`Outcome` and returns it."""

    @functools.wraps(method)
    def run(self: TicketDesk, *args, **kwargs) -> Outcome:
        assert self._pending is None, "desk operations do not nest; use the underscored steps"
        self._pending = outcome = Outcome()
        try:
            outcome.result = method(self, *args, **kwargs)
            self._collect_rows(outcome)
        except BaseException:
            # Refused halfway (a guard, a price list, routing): the records are as they were read.
            for record in self._records:
                record.revert()
            self._records = [r for r in self._records if not r.is_new]
            raise
        finally:
            self._pending = None
            self._history_rows, self._fund_rows = [], []
        return outcome

    return run


class TicketDesk:
    def __init__(self, session: Session, district: str, catalogue: Catalogue, policy: SlaPolicy,
                 router: Router, at_risk_fraction: float, clock: Callable[[], datetime] = utcnow):
        self.session = session
        self.district = district
        self.catalogue = catalogue
        self.policy = policy
        self.router = router
        self.sla = SlaClock(policy, at_risk_fraction)
        self.clock = clock
        self._pending: Outcome | None = None
        #: Every ticket this desk read or created: an operation's outcome carries what changed in them.
        self._records: list[TicketRecord] = []
        self._history_rows: list[dict] = []
        self._fund_rows: list[dict] = []
        #: History written by this desk for tickets it created: no need to read it back.
        self._new_history: dict[str, list[c.HistoryEntry]] = {}

    def _collect_rows(self, outcome: Outcome) -> None:
        new = []
        for record in self._records:
            was_new, changed = record.is_new, record.changes()
            if was_new:
                new.append(changed)
            elif changed:
                outcome.updates.append((record.id, changed))
        outcome.inserts = [(table, rows) for table, rows in
                           ((tickets, new), (history, self._history_rows), (fund_uses, self._fund_rows)) if rows]

    # -- reading -----------------------------------------------------------------------------------

    def load(self, ticket_id: str, field_name: str = "ticket_id", for_update: bool = True) -> TicketRecord:
        query = select(tickets).where(tickets.c.district == self.district, tickets.c.id == ticket_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        if row is None:
            raise NotFound.entity("ticket", ticket_id, field_name)
        return self.adopt(row)

    def adopt(self, row, in_order: bool = False) -> TicketRecord:
        """A ticket row read elsewhere (the sweep's batch), to be changed by this desk's operations."""
        record = TicketRecord.from_row(row, in_order)
        self._records.append(record)
        return record

    def view(self, row: TicketRecord, with_history: bool = True) -> c.Ticket:
        entries = []
        if with_history and row.id in self._new_history:
            entries = list(self._new_history[row.id])
        elif with_history:
            entries = [views.history_entry(h) for h in self.session.execute(
                select(history).where(history.c.ticket_id == row.id).order_by(history.c.id))]
        return views.ticket(row, entries)

    # -- bookkeeping -------------------------------------------------------------------------------

    def _record(self, row: TicketRecord, actor: c.Actor, action: str, before: str | None, **detail) -> None:
        at, detail = self.clock(), {k: v for k, v in detail.items() if v is not None}
        self._history_rows.append(views.history_row(row.id, at, actor, action, before, row.status, detail))
        if row.id in self._new_history:
            self._new_history[row.id].append(c.HistoryEntry(
                at=at, actor=actor, action=action, from_status=before, to_status=row.status, detail=detail))

    def _announce(self, event_cls, row: TicketRecord, actor: c.Actor, **fields) -> None:
        self._pending.events.append(event_cls(district=self.district, ticket=views.facts(row), actor=actor, **fields))

    def _notify(self, row: TicketRecord, event: str, text: str, *recipients: str) -> None:
        self._pending.notices.append(Notice(ticket_id=row.id, event=event, recipients=recipients, text=text,
                                            district=self.district))

    def _since(self, start: datetime) -> float:
        return max((self.clock() - start).total_seconds(), 0.0)

    def _schedule(self, row: TicketRecord) -> None:
        self.sla.schedule(row, self.clock())


    # -- intake ------------------------------------------------------------------------------------

    @operation
    def submit(self, request: c.SubmitRequest, place, possible_duplicate: str | None,
               auto_dispatch: bool) -> TicketRecord:
        category = self.catalogue.get(request.category)
        now = self.clock()
        sla_class = "emergency" if request.urgency == "emergency" else category.sla_class
        response_due, resolution_due = self.policy.deadlines(sla_class, now)
        actor = c.Actor(kind="resident", id=request.resident_id, person_id=request.entered_by)
        row = TicketRecord(dict(
            id=f"T{now:%Y%m%d}-{uuid.uuid4().hex[:10]}", district=self.district, resident_id=request.resident_id,
            category=category.code, sla_class=sla_class, urgency=request.urgency, description=request.description,
            media_urls=[str(u) for u in request.media_urls],
            building_id=place.building.id if place.building else None, complex_id=place.complex.id,
            grid_id=place.grid.id if place.grid else None, community_id=place.community.id,
            subdistrict_id=place.subdistrict.id, district_region_id=place.district_region.id,
            property_company_id=place.property_company.id if place.property_company else None,
            lat=request.point.lat if request.point else None, lon=request.point.lon if request.point else None,
            status="submitted", level="grid", rejections=0, escalations=0, reopen_count=0,
            submitted_at=now, response_due_at=response_due, resolution_due_at=resolution_due,
            resolution_clock_from=now, sla_state="on_track", response_breached=False, resolution_breached=False,
            level_breached=False, duplicate_of=possible_duplicate, cost_lines=[], updated_at=now), written=False)
        self._schedule(row)
        self._records.append(row)
        self._new_history[row.id] = []
        self._record(row, actor, "submitted", None, category=category.code, entered_by=request.entered_by,
                     possible_duplicate_of=possible_duplicate)
        self._announce(c.TicketCreated, row, actor, possible_duplicate_of=possible_duplicate)
        if category.handler_kind == "mediation":
            self._announce(c.DisputeReferred, row, actor, resident_id=row.resident_id,
                           description=row.description, building_id=row.building_id)
        if auto_dispatch:
            self._route(row, place, SYSTEM, exclude=())
        return row

    # -- routing and dispatch ----------------------------------------------------------------------

    def workloads(self, handler_ids: list[str]) -> dict[str, int]:
        t = tickets.c
        rows = self.session.execute(
            select(t.handler_id, func.count()).where(t.handler_id.in_(handler_ids), t.status.in_(c.OPEN_STATUSES))
            .group_by(t.handler_id)).all()
        return {hid: n for hid, n in rows}

    def _route(self, row: TicketRecord, place, actor: c.Actor, exclude: tuple[str, ...]) -> bool:
        """Dispatch to the least-loaded eligible handler at the ticket's level; False if none is left."""
        category = self.catalogue.get(row.category)
        candidates = [h for h in self.router.candidates(RoutingContext(category, place, row.level))
                      if h.id not in exclude]
        if not candidates:
            return False
        chosen = candidates[0]
        if len(candidates) > 1:
            load = self.workloads([h.id for h in candidates])
            chosen = min(candidates, key=lambda h: (load.get(h.id, 0), candidates.index(h)))
        self._dispatch_to(row, chosen, actor, auto=True)
        return True

    def _dispatch_to(self, row: TicketRecord, handler: c.Handler, actor: c.Actor, auto: bool, action: str = "dispatched") -> None:
        before = row.status
        row.handler_kind, row.handler_id, row.handler_name = handler.kind, handler.id, handler.name
        row.status = "dispatched"
        first = row.dispatched_at is None
        row.dispatched_at = self.clock()
        if first:
            self._pending.timings.append(("dispatch", row.sla_class, self._since(row.submitted_at)))
        self._record(row, actor, action, before, handler=handler.model_dump(), automatic=auto)
        self._announce(c.TicketDispatched, row, actor)
        self._notify(row, action, f"ticket {row.id} ({row.category}) is yours: {row.description[:60]}",
                     f"handler:{handler.kind}:{handler.id}")

    @operation
    def dispatch(self, row: TicketRecord, place, request: c.DispatchRequest) -> None:
        guards.kind(request.actor, ("worker", "system"), "dispatch", row)
        guards.status(row, ("submitted", "dispatched"), "dispatch")
        if request.handler is not None:
            self._dispatch_to(row, request.handler, request.actor, auto=False)
        elif not self._route(row, place, request.actor, exclude=()):
            raise Conflict(f"no handler found for ticket {row.id}; name one", {"field": "handler"})

    # -- the handler's side ------------------------------------------------------------------------

    def _respond(self, row: TicketRecord) -> None:
        if row.responded_at is None:
            row.responded_at = self.clock()
            self._pending.timings.append(("respond", row.sla_class, self._since(row.submitted_at)))

    @operation
    def accept(self, row: TicketRecord, request: c.AcceptRequest) -> None:
        guards.status(row, ("dispatched",), "accept")
        guards.holder(row, request.actor, "accept")
        before = row.status
        row.status = "in_progress"
        self._respond(row)
        self._schedule(row)
        self._record(row, request.actor, "accepted", before, note=request.note)
        self._announce(c.TicketAccepted, row, request.actor)
        self._notify(row, "accepted", f"{row.handler_name or row.handler_id} took your ticket {row.id}",
                     f"resident:{row.resident_id}")

    @operation
    def reject(self, row: TicketRecord, place, request: c.RejectRequest) -> None:
        guards.status(row, ("dispatched", "in_progress"), "reject")
        guards.holder(row, request.actor, "reject")
        before = row.status
        rejected_by = row.handler_id
        row.rejections += 1
        row.status = "submitted"
        self._record(row, request.actor, "rejected", before, reason=request.reason, rejections=row.rejections)
        self._announce(c.TicketRejected, row, request.actor, reason=request.reason)
        if row.rejections >= 2 and row.level != "district":
            self._escalate(row, place, SYSTEM, "second_rejection", f"rejected twice; last: {request.reason}")
        elif not self._route(row, place, SYSTEM, exclude=(rejected_by,)):
            row.handler_kind = row.handler_id = row.handler_name = None
            self._notify(row, "needs_dispatch", f"ticket {row.id} was rejected and needs a handler",
                         f"community:{row.community_id}")

    @operation
    def transfer(self, row: TicketRecord, request: c.TransferRequest) -> None:
        guards.status(row, ("dispatched", "in_progress"), "transfer")
        if request.actor.kind != "worker":
            guards.holder(row, request.actor, "transfer")
        if request.handler.id == row.handler_id:
            raise Conflict(f"ticket {row.id} is already with {request.handler.id}", {"field": "handler.id"})
        self._dispatch_to(row, request.handler, request.actor, auto=False, action="transferred")

    @operation
    def note(self, row: TicketRecord, request: c.NoteRequest) -> None:
        guards.status(row, c.OPEN_STATUSES, "add a note to")
        actor = request.actor
        if actor.kind == "handler":
            guards.holder(row, actor, "add a note to")
        elif actor.kind == "resident":
            guards.resident(row, actor, "add a note to")
        before = row.status
        if request.awaiting_resident:
            guards.status(row, ("in_progress",), "wait for the resident on")
            if actor.kind not in ("handler", "worker"):
                raise PermissionDenied("only the handler or a worker may pause the clock", {"field": "actor"})
            row.status, row.paused_at, row.next_check_at = "awaiting_resident", self.clock(), None
        self._record(row, actor, "paused" if request.awaiting_resident else "note", before, note=request.note)

    @operation
    def resume(self, row: TicketRecord, request: c.ResumeRequest) -> None:
        guards.status(row, ("awaiting_resident",), "resume")
        if request.actor.kind == "resident":
            guards.resident(row, request.actor, "resume")
        elif request.actor.kind == "handler":
            guards.holder(row, request.actor, "resume")
        now, paused_at = self.clock(), row.paused_at
        if row.responded_at is None:
            row.response_due_at = self.policy.extend(row.sla_class, row.response_due_at, paused_at, now)
        row.resolution_due_at = self.policy.extend(row.sla_class, row.resolution_due_at, paused_at, now)
        row.resolution_clock_from += now - paused_at
        before = row.status
        row.status, row.paused_at = "in_progress", None
        self._schedule(row)
        self._record(row, request.actor, "resumed", before, note=request.note,
                     paused_hours=round((now - paused_at).total_seconds() / 3600, 2))

    @operation
    def resolve(self, row: TicketRecord, request: c.ResolveRequest) -> None:
        guards.status(row, ("dispatched", "in_progress"), "resolve")
        guards.holder(row, request.actor, "resolve")
        category = self.catalogue.get(row.category)
        pricing.check_funding(category, row, request.funding_source)
        company = row.handler_id if row.handler_kind == "property_company" else row.property_company_id
        cost, lines = pricing.cost_of(self.session, self.district, company, request.items)
        before = row.status
        self._respond(row)
        row.status, row.resolved_at = "resolved", self.clock()
        row.cost, row.cost_lines = cost, [line.model_dump(mode="json") for line in lines]
        row.funding_source = request.funding_source
        row.next_check_at = None
        if request.funding_source == "emergency_repair_fund":
            self._fund_rows.append(pricing.fund_use(row, cost))
        self._pending.timings.append(("resolve", row.sla_class, self._since(row.submitted_at)))
        self._record(row, request.actor, "resolved", before, summary=request.summary, cost=str(cost),
                     funding_source=request.funding_source)
        self._announce(c.TicketResolved, row, request.actor, cost=cost, funding_source=request.funding_source)
        self._notify(row, "resolved", f"ticket {row.id} is resolved: {request.summary[:60]}; please confirm and rate",
                     f"resident:{row.resident_id}")

    # -- the resident's side -----------------------------------------------------------------------

    @operation
    def rate(self, row: TicketRecord, request: c.RateRequest) -> None:
        guards.status(row, ("resolved",), "rate")
        guards.resident(row, request.actor, "rate")
        before = row.status
        row.rating, row.rating_comment = request.rating, request.comment
        row.status, row.closed_at = "closed", self.clock()
        self._record(row, request.actor, "rated", before, rating=request.rating, comment=request.comment)
        self._announce(c.TicketRated, row, request.actor, comment=request.comment)
        self._announce(c.TicketClosed, row, request.actor)

    @operation
    def reopen(self, row: TicketRecord, request: c.ReopenRequest) -> None:
        guards.status(row, ("resolved", "closed"), "reopen")
        guards.resident(row, request.actor, "reopen")
        if row.status == "closed" and row.closed_at < self.clock() - timedelta(days=30):
            raise Conflict(f"ticket {row.id} closed more than 30 days ago; place a new one", {"ticket_id": row.id})
        before = row.status
        row.reopen_count += 1
        row.resolved_at = row.closed_at = row.rating = row.rating_comment = None
        row.status = "dispatched" if row.handler_id else "submitted"
        self._schedule(row)
        self._record(row, request.actor, "reopened", before, reason=request.reason)
        self._announce(c.TicketReopened, row, request.actor, reason=request.reason)
        if row.handler_id:
            self._notify(row, "reopened", f"ticket {row.id} was reopened: {request.reason[:60]}",
                         f"handler:{row.handler_kind}:{row.handler_id}")

    @operation
    def close(self, row: TicketRecord, request: c.CloseRequest) -> None:
        guards.status(row, ("resolved",), "close")
        guards.kind(request.actor, ("worker", "system"), "close", row)
        before = row.status
        row.status, row.closed_at = "closed", self.clock()
        self._record(row, request.actor, "closed", before, note=request.note)
        self._announce(c.TicketClosed, row, request.actor)

    @operation
    def cancel(self, row: TicketRecord, request: c.CancelRequest) -> None:
        self._cancel(row, request)

    def _cancel(self, row: TicketRecord, request: c.CancelRequest, action: str = "cancelled", **detail) -> None:
        guards.status(row, c.OPEN_STATUSES, "cancel")
        if request.actor.kind == "resident":
            guards.resident(row, request.actor, "cancel")
        else:
            guards.kind(request.actor, ("resident", "worker", "system"), "cancel", row)
        before = row.status
        row.status, row.closed_at, row.next_check_at = "cancelled", self.clock(), None
        self._record(row, request.actor, action, before, reason=request.reason, **detail)
        self._announce(c.TicketCancelled, row, request.actor, reason=request.reason)

    @operation
    def follow(self, row: TicketRecord, original: TicketRecord, request: c.FollowRequest) -> None:
        guards.resident(row, request.actor, "follow another ticket instead of")
        self._check_original(row, original)
        row.duplicate_of = original.id
        self._cancel(row, c.CancelRequest(request_id=request.request_id, ticket_id=row.id, actor=request.actor,
                                         reason=f"following {original.id}"), "followed", original_id=original.id)

    @operation
    def merge(self, row: TicketRecord, original: TicketRecord, request: c.MergeRequest) -> None:
        guards.kind(request.actor, ("worker",), "merge", row)
        self._check_original(row, original)
        row.merged_into = original.id
        self._cancel(row, c.CancelRequest(request_id=request.request_id, ticket_id=row.id, actor=request.actor,
                                         reason=f"merged into {original.id}"), "merged", original_id=original.id)

    @staticmethod
    def _check_original(row: TicketRecord, original: TicketRecord) -> None:
        if original.id == row.id:
            raise Conflict("a ticket cannot follow or merge into itself", {"field": "original_id"})
        if original.status in ("cancelled",) or original.merged_into:
            raise Conflict(f"ticket {original.id} is {original.status}; choose a live original",
                           {"field": "original_id"})

    # -- the ladder --------------------------------------------------------------------------------

    @operation
    def escalate(self, row: TicketRecord, place, actor: c.Actor, trigger: str, reason: str) -> None:
        self._escalate(row, place, actor, trigger, reason)

    def _escalate(self, row: TicketRecord, place, actor: c.Actor, trigger: str, reason: str) -> None:
        if row.level == c.LADDER[-1]:
            raise Conflict(f"ticket {row.id} is already at the district level", {"ticket_id": row.id, "level": row.level})
        guards.status(row, c.OPEN_STATUSES, "escalate")
        before_level, before = row.level, row.status
        row.level = c.LADDER[c.LADDER.index(row.level) + 1]
        row.escalations += 1
        # The new level gets a fresh resolution deadline of the same class; the breach stays on record.
        now = self.clock()
        _, row.resolution_due_at = self.policy.deadlines(row.sla_class, now)
        row.resolution_clock_from, row.level_breached = now, False
        row.paused_at = None
        self._record(row, actor, "escalated", before, trigger=trigger, reason=reason,
                     from_level=before_level, to_level=row.level)
        self._announce(c.TicketEscalated, row, actor, from_level=before_level, to_level=row.level,
                       trigger=trigger, reason=reason)
        self._pending.escalations.append((trigger, row.level))
        self._route(row, place, SYSTEM, exclude=())
        self._schedule(row)

    # -- the sweep ---------------------------------------------------------------------------------

    @operation
    def sweep(self, rows, place_of: Callable[[TicketRecord], object]) -> list[str]:
        """The sweep's look at a batch of tickets whose next check is due: one outcome for the batch
        (one history INSERT, as before), its result what changed in each ticket.

        Settling once per batch is safe: an escalation routes to a level's single office, so the
        sweep never asks for workloads that earlier tickets of the batch would have changed.
        """
        in_order = bool(rows) and tuple(rows[0]._fields) == views.COLUMNS  # asked once a batch: it is not free
        return [self._check(self.adopt(row, in_order), place_of) for row in rows]

    def _check(self, row: TicketRecord, place_of: Callable[[TicketRecord], object]) -> str:
        now = self.clock()
        before = row.sla_state
        changed = "none"
        if row.responded_at is None and not row.response_breached and now > row.response_due_at:
            row.response_breached = True
            self._breach(row, "response", row.response_due_at)
            changed = "breached"
        if not row.level_breached and now > row.resolution_due_at:
            row.level_breached = row.resolution_breached = True
            self._breach(row, "resolution", row.resolution_due_at)
            changed = "breached"
            if row.level != c.LADDER[-1]:
                self._escalate(row, place_of(row), SYSTEM, "sla_breach",
                              f"resolution deadline {row.resolution_due_at:%Y-%m-%d %H:%M} UTC passed")
                return "escalated"
        self._schedule(row)
        if changed == "none" and row.sla_state == "at_risk" and before != "at_risk":
            changed = "at_risk"
            self._notify(row, "at_risk", f"ticket {row.id} is close to its deadline",
                         f"handler:{row.handler_kind}:{row.handler_id}")
        return changed

    def _breach(self, row: TicketRecord, deadline: str, due: datetime) -> None:
        self._pending.breaches.append((deadline, row.sla_class))
        self._record(row, SYSTEM, f"{deadline}_breached", row.status, due_at=due.isoformat())
        self._announce(c.SlaBreached, row, SYSTEM, deadline=deadline, due_at=due)
        self._notify(row, "breached", f"ticket {row.id} missed its {deadline} deadline",
                     f"handler:{row.handler_kind}:{row.handler_id}", f"community:{row.community_id}")
