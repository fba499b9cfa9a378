"""The ticket state machine: who may do what, and when; every transition recorded, announced, timed.

    submitted -> dispatched -> in_progress <-> awaiting_resident -> resolved -> closed
                     ^   |        |                                  |
                     |   +-reject-+ (re-dispatch; the second rejection escalates)
                     +------------------------ reopen ---------------+
    any open state -> cancelled (by the resident or a worker; follow / merge for duplicates)

A :class:`TicketDesk` works inside one worker's transaction: it changes rows, gathers history, stages
events in the outbox and queues notices that are sent after the commit. New tickets and history rows
are written by :meth:`TicketDesk.save` with plain inserts, not the ORM's unit of work: intake is the
service's hot path, and a new ticket is complete (routed and dispatched) before it is written once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table, func, insert, inspect, select
from sqlalchemy.orm import Session

from redprop.contracts import ticketing as c
from redprop.contracts.base import utcnow
from redprop.errors import Conflict, NotFound, PermissionDenied
from redprop.services.ticketing import pricing
from redprop.services.ticketing.catalogue import Catalogue
from redprop.services.ticketing.models import HistoryRow, TicketRow
from redprop.services.ticketing.notifiers import Notice
from redprop.services.ticketing.routing import Router, RoutingContext
from redprop.services.ticketing.sla import SlaPolicy

SYSTEM = c.Actor(kind="system", id="ticketing")

_TICKET_COLUMNS = [(attr.key, attr.columns[0].key) for attr in inspect(TicketRow).column_attrs]


def _column_values(row: TicketRow) -> dict:
    return {column: getattr(row, attr) for attr, column in _TICKET_COLUMNS}


@dataclass
class Outcome:
    """What a transition produced besides the row: events to stage and notices to send after commit."""

    events: list[c.TicketEvent] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    escalations: list[tuple[str, str]] = field(default_factory=list)   # (trigger, to_level)
    breaches: list[tuple[str, str]] = field(default_factory=list)      # (deadline, sla_class)
    timings: list[tuple[str, str, float]] = field(default_factory=list)  # (measure, sla_class, seconds)


class TicketDesk:
    def __init__(self, session: Session, district: str, catalogue: Catalogue, policy: SlaPolicy,
                 router: Router, at_risk_fraction: float, clock: Callable[[], datetime] = utcnow):
        self.session = session
        self.district = district
        self.catalogue = catalogue
        self.policy = policy
        self.router = router
        self.at_risk_fraction = at_risk_fraction
        self.clock = clock
        self.outcome = Outcome()
        #: History written by this desk for tickets it created: no need to read it back.
        self._new_history: dict[str, list[c.HistoryEntry]] = {}
        #: Created tickets and history rows not yet written (see :meth:`save`).
        self._unsaved_tickets: list[TicketRow] = []
        self._unsaved_history: list[dict] = []

    def save(self) -> None:
        """Write the tickets created and the history recorded since the last save (changes to loaded
        tickets are the ORM's to flush, at the commit)."""
        for table, rows in self.take_inserts():
            self.session.execute(insert(table), rows)

    def take_inserts(self) -> list[tuple[Table, list[dict]]]:
        """The rows :meth:`save` would write, tickets before their history, for a caller that writes
        them itself (group commit); the desk forgets them."""
        inserts = [(TicketRow.__table__, [_column_values(r) for r in self._unsaved_tickets]),
                   (HistoryRow.__table__, list(self._unsaved_history))]
        self._unsaved_tickets.clear()
        self._unsaved_history.clear()
        return [(table, rows) for table, rows in inserts if rows]

    # -- reading -----------------------------------------------------------------------------------

    def load(self, ticket_id: str, field_name: str = "ticket_id", for_update: bool = True) -> TicketRow:
        query = select(TicketRow).where(TicketRow.district == self.district, TicketRow.id == ticket_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.execute(query).scalar_one_or_none()
        if row is None:
            raise NotFound.entity("ticket", ticket_id, field_name)
        return row

    def view(self, row: TicketRow, with_history: bool = True) -> c.Ticket:
        history = []
        if with_history and row.id in self._new_history:
            history = list(self._new_history[row.id])
        elif with_history:
            history = [c.HistoryEntry(at=h.at, actor=c.Actor.model_validate(h.actor), action=h.action,
                                      from_status=h.from_status, to_status=h.to_status, detail=h.detail or {})
                       for h in self.session.execute(select(HistoryRow).where(HistoryRow.ticket_id == row.id)
                                                     .order_by(HistoryRow.id)).scalars()]
        return c.Ticket(
            id=row.id, district=row.district, resident_id=row.resident_id, category=row.category,
            sla_class=row.sla_class, urgency=row.urgency, description=row.description,
            media_urls=row.media_urls or [], location=self._location(row),
            property_company_id=row.property_company_id, status=row.status, level=row.level,
            handler=self._handler(row), rejections=row.rejections, escalations=row.escalations,
            reopen_count=row.reopen_count, submitted_at=row.submitted_at, dispatched_at=row.dispatched_at,
            responded_at=row.responded_at, resolved_at=row.resolved_at, closed_at=row.closed_at,
            response_due_at=row.response_due_at, resolution_due_at=row.resolution_due_at,
            sla_state=row.sla_state, rating=row.rating, rating_comment=row.rating_comment, cost=row.cost,
            cost_lines=row.cost_lines or [], funding_source=row.funding_source, duplicate_of=row.duplicate_of,
            merged_into=row.merged_into, history=history)

    @staticmethod
    def _handler(row: TicketRow) -> c.Handler | None:
        if row.handler_kind is None:
            return None
        return c.Handler(kind=row.handler_kind, id=row.handler_id, name=row.handler_name)

    @staticmethod
    def _location(row: TicketRow) -> c.Location:
        point = {"lat": row.lat, "lon": row.lon} if row.lat is not None else None
        return c.Location(building_id=row.building_id, complex_id=row.complex_id, grid_id=row.grid_id,
                          community_id=row.community_id, subdistrict_id=row.subdistrict_id, point=point)

    def facts(self, row: TicketRow) -> c.TicketFacts:
        return c.TicketFacts(
            ticket_id=row.id, category=row.category, sla_class=row.sla_class, level=row.level, status=row.status,
            handler=self._handler(row), property_company_id=row.property_company_id, complex_id=row.complex_id,
            grid_id=row.grid_id, community_id=row.community_id, subdistrict_id=row.subdistrict_id,
            submitted_at=row.submitted_at, response_due_at=row.response_due_at,
            resolution_due_at=row.resolution_due_at, responded_at=row.responded_at, resolved_at=row.resolved_at,
            responded_on_time=None if row.responded_at is None else (
                not row.response_breached and row.responded_at <= row.response_due_at),
            resolved_on_time=None if row.resolved_at is None else (
                not row.resolution_breached and row.resolved_at <= row.resolution_due_at),
            rating=row.rating, reopen_count=row.reopen_count)

    # -- bookkeeping -------------------------------------------------------------------------------

    def _record(self, row: TicketRow, actor: c.Actor, action: str, before: str | None, **detail) -> None:
        at, detail = self.clock(), {k: v for k, v in detail.items() if v is not None}
        self._unsaved_history.append({"ticket_id": row.id, "at": at, "actor": actor.model_dump(mode="json"),
                                      "action": action, "from_status": before, "to_status": row.status,
                                      "detail": detail})
        if row.id in self._new_history:
            self._new_history[row.id].append(c.HistoryEntry(
                at=at, actor=actor, action=action, from_status=before, to_status=row.status, detail=detail))

    def _announce(self, event_cls, row: TicketRow, actor: c.Actor, **fields) -> None:
        self.outcome.events.append(event_cls(district=self.district, ticket=self.facts(row), actor=actor, **fields))

    def _notify(self, row: TicketRow, event: str, text: str, *recipients: str) -> None:
        self.outcome.notices.append(Notice(ticket_id=row.id, event=event, recipients=recipients, text=text,
                                           district=self.district))

    def _since(self, start: datetime) -> float:
        return max((self.clock() - start).total_seconds(), 0.0)

    # -- permission checks -------------------------------------------------------------------------

    @staticmethod
    def _require_status(row: TicketRow, allowed: tuple[str, ...], action: str) -> None:
        if row.status not in allowed:
            raise Conflict(f"cannot {action} ticket {row.id}: it is {row.status} (allowed from: {', '.join(allowed)})",
                           {"ticket_id": row.id, "status": row.status, "action": action})

    @staticmethod
    def _require_holder(row: TicketRow, actor: c.Actor, action: str) -> None:
        if not (actor.kind == "handler" and actor.handler_kind == row.handler_kind and actor.id == row.handler_id):
            raise PermissionDenied(
                f"only the unit holding ticket {row.id} may {action} it"
                + (f" ({row.handler_kind} {row.handler_id})" if row.handler_id else " (nobody holds it)"),
                {"ticket_id": row.id, "field": "actor", "holder": row.handler_id})

    @staticmethod
    def _require_resident(row: TicketRow, actor: c.Actor, action: str) -> None:
        if not (actor.kind == "resident" and actor.id == row.resident_id):
            raise PermissionDenied(f"only the resident who placed ticket {row.id} may {action} it",
                                   {"ticket_id": row.id, "field": "actor"})

    @staticmethod
    def _require_kind(actor: c.Actor, kinds: tuple[str, ...], action: str, row: TicketRow) -> None:
        if actor.kind not in kinds:
            raise PermissionDenied(f"a {actor.kind} may not {action} ticket {row.id} (only: {', '.join(kinds)})",
                                   {"ticket_id": row.id, "field": "actor.kind"})

    # -- intake ------------------------------------------------------------------------------------

    def submit(self, request: c.SubmitRequest, place, possible_duplicate: str | None, auto_dispatch: bool) -> TicketRow:
        category = self.catalogue.get(request.category)
        now = self.clock()
        sla_class = "emergency" if request.urgency == "emergency" else category.sla_class
        response_due, resolution_due = self.policy.deadlines(sla_class, now)
        actor = c.Actor(kind="resident", id=request.resident_id, person_id=request.entered_by)
        row = TicketRow(
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
            level_breached=False, duplicate_of=possible_duplicate, cost_lines=[], updated_at=now)
        self.schedule_check(row)
        self._unsaved_tickets.append(row)
        self._new_history[row.id] = []
        self._record(row, actor, "submitted", None, category=category.code, entered_by=request.entered_by,
                     possible_duplicate_of=possible_duplicate)
        self._announce(c.TicketCreated, row, actor, possible_duplicate_of=possible_duplicate)
        if category.handler_kind == "mediation":
            self._announce(c.DisputeReferred, row, actor, resident_id=row.resident_id,
                           description=row.description, building_id=row.building_id)
        if auto_dispatch:
            self.route(row, place, SYSTEM, exclude=())
        return row

    # -- routing and dispatch ----------------------------------------------------------------------

    def workloads(self, handler_ids: list[str]) -> dict[str, int]:
        rows = self.session.execute(
            select(TicketRow.handler_id, func.count()).where(
                TicketRow.handler_id.in_(handler_ids), TicketRow.status.in_(c.OPEN_STATUSES))
            .group_by(TicketRow.handler_id)).all()
        return {hid: n for hid, n in rows}

    def route(self, row: TicketRow, place, actor: c.Actor, exclude: tuple[str, ...]) -> bool:
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

    def _dispatch_to(self, row: TicketRow, handler: c.Handler, actor: c.Actor, auto: bool, action: str = "dispatched") -> None:
        before = row.status
        row.handler_kind, row.handler_id, row.handler_name = handler.kind, handler.id, handler.name
        row.status = "dispatched"
        first = row.dispatched_at is None
        row.dispatched_at = self.clock()
        if first:
            self.outcome.timings.append(("dispatch", row.sla_class, self._since(row.submitted_at)))
        self._record(row, actor, action, before, handler=handler.model_dump(), automatic=auto)
        self._announce(c.TicketDispatched, row, actor)
        self._notify(row, action, f"ticket {row.id} ({row.category}) is yours: {row.description[:60]}",
                     f"handler:{handler.kind}:{handler.id}")

    def dispatch(self, row: TicketRow, place, request: c.DispatchRequest) -> None:
        self._require_kind(request.actor, ("worker", "system"), "dispatch", row)
        self._require_status(row, ("submitted", "dispatched"), "dispatch")
        if request.handler is not None:
            self._dispatch_to(row, request.handler, request.actor, auto=False)
        elif not self.route(row, place, request.actor, exclude=()):
            raise Conflict(f"no handler found for ticket {row.id}; name one", {"field": "handler"})

    # -- the handler's side ------------------------------------------------------------------------

    def _respond(self, row: TicketRow) -> None:
        if row.responded_at is None:
            row.responded_at = self.clock()
            self.outcome.timings.append(("respond", row.sla_class, self._since(row.submitted_at)))

    def accept(self, row: TicketRow, request: c.AcceptRequest) -> None:
        self._require_status(row, ("dispatched",), "accept")
        self._require_holder(row, request.actor, "accept")
        before = row.status
        row.status = "in_progress"
        self._respond(row)
        self.schedule_check(row)
        self._record(row, request.actor, "accepted", before, note=request.note)
        self._announce(c.TicketAccepted, row, request.actor)
        self._notify(row, "accepted", f"{row.handler_name or row.handler_id} took your ticket {row.id}",
                     f"resident:{row.resident_id}")

    def reject(self, row: TicketRow, place, request: c.RejectRequest) -> None:
        self._require_status(row, ("dispatched", "in_progress"), "reject")
        self._require_holder(row, request.actor, "reject")
        before = row.status
        rejected_by = row.handler_id
        row.rejections += 1
        row.status = "submitted"
        self._record(row, request.actor, "rejected", before, reason=request.reason, rejections=row.rejections)
        self._announce(c.TicketRejected, row, request.actor, reason=request.reason)
        if row.rejections >= 2 and row.level != "district":
            self.escalate(row, place, SYSTEM, "second_rejection", f"rejected twice; last: {request.reason}")
        elif not self.route(row, place, SYSTEM, exclude=(rejected_by,)):
            row.handler_kind = row.handler_id = row.handler_name = None
            self._notify(row, "needs_dispatch", f"ticket {row.id} was rejected and needs a handler",
                         f"community:{row.community_id}")

    def transfer(self, row: TicketRow, request: c.TransferRequest) -> None:
        self._require_status(row, ("dispatched", "in_progress"), "transfer")
        if request.actor.kind != "worker":
            self._require_holder(row, request.actor, "transfer")
        if request.handler.id == row.handler_id:
            raise Conflict(f"ticket {row.id} is already with {request.handler.id}", {"field": "handler.id"})
        self._dispatch_to(row, request.handler, request.actor, auto=False, action="transferred")

    def note(self, row: TicketRow, request: c.NoteRequest) -> None:
        self._require_status(row, c.OPEN_STATUSES, "add a note to")
        actor = request.actor
        if actor.kind == "handler":
            self._require_holder(row, actor, "add a note to")
        elif actor.kind == "resident":
            self._require_resident(row, actor, "add a note to")
        before = row.status
        if request.awaiting_resident:
            self._require_status(row, ("in_progress",), "wait for the resident on")
            if actor.kind not in ("handler", "worker"):
                raise PermissionDenied("only the handler or a worker may pause the clock", {"field": "actor"})
            row.status, row.paused_at, row.next_check_at = "awaiting_resident", self.clock(), None
        self._record(row, actor, "paused" if request.awaiting_resident else "note", before, note=request.note)

    def resume(self, row: TicketRow, request: c.ResumeRequest) -> None:
        self._require_status(row, ("awaiting_resident",), "resume")
        if request.actor.kind == "resident":
            self._require_resident(row, request.actor, "resume")
        elif request.actor.kind == "handler":
            self._require_holder(row, request.actor, "resume")
        now, paused_at = self.clock(), row.paused_at
        if row.responded_at is None:
            row.response_due_at = self.policy.extend(row.sla_class, row.response_due_at, paused_at, now)
        row.resolution_due_at = self.policy.extend(row.sla_class, row.resolution_due_at, paused_at, now)
        row.resolution_clock_from += now - paused_at
        before = row.status
        row.status, row.paused_at = "in_progress", None
        self.schedule_check(row)
        self._record(row, request.actor, "resumed", before, note=request.note,
                     paused_hours=round((now - paused_at).total_seconds() / 3600, 2))

    def resolve(self, row: TicketRow, request: c.ResolveRequest) -> None:
        self._require_status(row, ("dispatched", "in_progress"), "resolve")
        self._require_holder(row, request.actor, "resolve")
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
            pricing.record_fund_use(self.session, row, cost)
        self.outcome.timings.append(("resolve", row.sla_class, self._since(row.submitted_at)))
        self._record(row, request.actor, "resolved", before, summary=request.summary, cost=str(cost),
                     funding_source=request.funding_source)
        self._announce(c.TicketResolved, row, request.actor, cost=cost, funding_source=request.funding_source)
        self._notify(row, "resolved", f"ticket {row.id} is resolved: {request.summary[:60]}; please confirm and rate",
                     f"resident:{row.resident_id}")

    # -- the resident's side -----------------------------------------------------------------------

    def rate(self, row: TicketRow, request: c.RateRequest) -> None:
        self._require_status(row, ("resolved",), "rate")
        self._require_resident(row, request.actor, "rate")
        before = row.status
        row.rating, row.rating_comment = request.rating, request.comment
        row.status, row.closed_at = "closed", self.clock()
        self._record(row, request.actor, "rated", before, rating=request.rating, comment=request.comment)
        self._announce(c.TicketRated, row, request.actor, comment=request.comment)
        self._announce(c.TicketClosed, row, request.actor)

    def reopen(self, row: TicketRow, request: c.ReopenRequest) -> None:
        self._require_status(row, ("resolved", "closed"), "reopen")
        self._require_resident(row, request.actor, "reopen")
        if row.status == "closed" and row.closed_at < self.clock() - timedelta(days=30):
            raise Conflict(f"ticket {row.id} closed more than 30 days ago; place a new one", {"ticket_id": row.id})
        before = row.status
        row.reopen_count += 1
        row.resolved_at = row.closed_at = row.rating = row.rating_comment = None
        row.status = "dispatched" if row.handler_id else "submitted"
        self.schedule_check(row)
        self._record(row, request.actor, "reopened", before, reason=request.reason)
        self._announce(c.TicketReopened, row, request.actor, reason=request.reason)
        if row.handler_id:
            self._notify(row, "reopened", f"ticket {row.id} was reopened: {request.reason[:60]}",
                         f"handler:{row.handler_kind}:{row.handler_id}")

    def close(self, row: TicketRow, request: c.CloseRequest) -> None:
        self._require_status(row, ("resolved",), "close")
        self._require_kind(request.actor, ("worker", "system"), "close", row)
        before = row.status
        row.status, row.closed_at = "closed", self.clock()
        self._record(row, request.actor, "closed", before, note=request.note)
        self._announce(c.TicketClosed, row, request.actor)

    def cancel(self, row: TicketRow, request: c.CancelRequest, action: str = "cancelled", **detail) -> None:
        self._require_status(row, c.OPEN_STATUSES, "cancel")
        if request.actor.kind == "resident":
            self._require_resident(row, request.actor, "cancel")
        else:
            self._require_kind(request.actor, ("resident", "worker", "system"), "cancel", row)
        before = row.status
        row.status, row.closed_at, row.next_check_at = "cancelled", self.clock(), None
        self._record(row, request.actor, action, before, reason=request.reason, **detail)
        self._announce(c.TicketCancelled, row, request.actor, reason=request.reason)

    def follow(self, row: TicketRow, original: TicketRow, request: c.FollowRequest) -> None:
        self._require_resident(row, request.actor, "follow another ticket instead of")
        self._check_original(row, original)
        row.duplicate_of = original.id
        self.cancel(row, c.CancelRequest(request_id=request.request_id, ticket_id=row.id, actor=request.actor,
                                         reason=f"following {original.id}"), "followed", original_id=original.id)

    def merge(self, row: TicketRow, original: TicketRow, request: c.MergeRequest) -> None:
        self._require_kind(request.actor, ("worker",), "merge", row)
        self._check_original(row, original)
        row.merged_into = original.id
        self.cancel(row, c.CancelRequest(request_id=request.request_id, ticket_id=row.id, actor=request.actor,
                                         reason=f"merged into {original.id}"), "merged", original_id=original.id)

    @staticmethod
    def _check_original(row: TicketRow, original: TicketRow) -> None:
        if original.id == row.id:
            raise Conflict("a ticket cannot follow or merge into itself", {"field": "original_id"})
        if original.status in ("cancelled",) or original.merged_into:
            raise Conflict(f"ticket {original.id} is {original.status}; choose a live original",
                           {"field": "original_id"})

    # -- the ladder --------------------------------------------------------------------------------

    def escalate(self, row: TicketRow, place, actor: c.Actor, trigger: str, reason: str) -> None:
        if row.level == c.LADDER[-1]:
            raise Conflict(f"ticket {row.id} is already at the district level", {"ticket_id": row.id, "level": row.level})
        self._require_status(row, c.OPEN_STATUSES, "escalate")
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
        self.outcome.escalations.append((trigger, row.level))
        self.route(row, place, SYSTEM, exclude=())
        self.schedule_check(row)

    # -- SLA state ---------------------------------------------------------------------------------

    def _risk_point(self, row: TicketRow, start: datetime, due: datetime) -> datetime:
        total = self.policy.elapsed(row.sla_class, start, due)
        return self.policy.add(row.sla_class, start, self.at_risk_fraction * total.total_seconds() / 3600)

    def _moments(self, row: TicketRow) -> list[datetime]:
        """The coming moments at which the ticket's SLA state may change."""
        moments = []
        if row.responded_at is None and not row.response_breached:
            moments += [self._risk_point(row, row.submitted_at, row.response_due_at), row.response_due_at]
        if not row.level_breached:
            moments += [self._risk_point(row, row.resolution_clock_from, row.resolution_due_at), row.resolution_due_at]
        return moments

    def schedule_check(self, row: TicketRow) -> None:
        if row.status not in ("submitted", "dispatched", "in_progress"):
            row.next_check_at = None
            return
        now = self.clock()
        future = [m for m in self._moments(row) if m > now]
        row.next_check_at = min(future) if future else (now if self._moments(row) else None)
        self._update_state(row, now)

    def _update_state(self, row: TicketRow, now: datetime) -> str:
        if row.response_breached and row.responded_at is None or row.level_breached:
            state = "breached"
        else:
            at_risk = (row.responded_at is None and now >= self._risk_point(row, row.submitted_at, row.response_due_at)) \
                or now >= self._risk_point(row, row.resolution_clock_from, row.resolution_due_at)
            state = "at_risk" if at_risk else "on_track"
        row.sla_state = state
        return state

    def check(self, row: TicketRow, place_of: Callable[[TicketRow], object]) -> str:
        """The sweep's look at one ticket whose next check is due. Returns what changed."""
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
                self.escalate(row, place_of(row), SYSTEM, "sla_breach",
                              f"resolution deadline {row.resolution_due_at:%Y-%m-%d %H:%M} UTC passed")
                return "escalated"
        self.schedule_check(row)
        if changed == "none" and row.sla_state == "at_risk" and before != "at_risk":
            changed = "at_risk"
            self._notify(row, "at_risk", f"ticket {row.id} is close to its deadline",
                         f"handler:{row.handler_kind}:{row.handler_id}")
        return changed

    def _breach(self, row: TicketRow, deadline: str, due: datetime) -> None:
        self.outcome.breaches.append((deadline, row.sla_class))
        self._record(row, SYSTEM, f"{deadline}_breached", row.status, due_at=due.isoformat())
        self._announce(c.SlaBreached, row, SYSTEM, deadline=deadline, due_at=due)
        self._notify(row, "breached", f"ticket {row.id} missed its {deadline} deadline",
                     f"handler:{row.handler_kind}:{row.handler_id}", f"community:{row.community_id}")
