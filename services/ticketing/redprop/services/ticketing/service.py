"""The ticketing service: entrypoints only; the work is in lifecycle, sweep, stats and pricing."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.timer import Timer
from prometheus_client import Counter
from sqlalchemy import func, or_, select

from redprop import logs
from redprop.clock import utcnow
from redprop.contracts import ticketing as c
from redprop.contracts.mediation import CaseConcluded, CaseOpened
from redprop.contracts.registry import PersonErased, StructureChanged
from redprop.db import Database, find_database
from redprop.errors import NotFound, PermissionDenied
from redprop.messaging import (
    EventOutbox,
    GroupCommit,
    ServiceRpc,
    Write,
    broadcast_handler,
    command,
    event_handler,
    query,
)
from redprop.metrics import find_metrics_server
from redprop.service import RedpropService, choices_of
from redprop.services.ticketing import dispute, erasure, funddraw, guards, pricing, stats, views
from redprop.services.ticketing import models as m
from redprop.services.ticketing.calendarwatch import CalendarWatch
from redprop.services.ticketing.catalogue import Catalogue
from redprop.services.ticketing.duplicates import likely_original
from redprop.services.ticketing.lifecycle import TicketDesk
from redprop.services.ticketing.notifiers import NOTIFIERS
from redprop.services.ticketing.options import TicketingOptions
from redprop.services.ticketing.outcome import Outcome, write_rows
from redprop.services.ticketing.places import PlaceCache
from redprop.services.ticketing.routing import ROUTER
from redprop.services.ticketing.sla import SLA_POLICY
from redprop.services.ticketing.sweep import SweepTotals, sweep_batch
from redprop.services.ticketing.views import TicketRecord

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SLA_BREACHES = ("redprop_ticketing_sla_breaches", "SLA deadlines missed.", ("deadline", "sla_class"))
TIME_BUCKETS = (60, 300, 900, 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400, 15 * 86400, 30 * 86400)


class CatalogueProvider(DependencyProvider):
    """``self.categories``: the district's ticket categories, built from the options once per container."""

    def setup(self):
        options = choices_of(self.container).options
        self.categories = Catalogue(options.categories, options.disabled_categories)

    def get_dependency(self, worker_ctx) -> Catalogue:
        return self.categories


class Notices(DependencyProvider):
    """``self.notify_after_commit(notices)``: the district's notifiers get them once the worker commits."""

    def setup(self):
        self.notifiers = list(choices_of(self.container).plugins.notifiers.values())
        self.db = find_database(self.container)

    def get_dependency(self, worker_ctx):
        def notify_after_commit(notices) -> None:
            notices = list(notices)
            self.db.on_commit(worker_ctx, lambda: self.send(notices))

        return notify_after_commit

    def send(self, notices) -> None:
        for notice in notices:
            for notifier in self.notifiers:
                try:
                    notifier.send(notice)
                except Exception:  # a notice is a courtesy: it never undoes or delays the change
                    log.exception("notifier %s failed for ticket %s", type(notifier).__name__, notice.ticket_id)


class CalendarWatchProvider(DependencyProvider):
    """``self.calendar_watch``: how far the working calendar reaches (metric, readiness warning, log)."""

    def setup(self):
        self.watch: CalendarWatch | None = None

    def start(self):
        # In start, not setup: the metrics server's registry exists once every extension is set up.
        choices = choices_of(self.container)
        server = find_metrics_server(self.container)
        self.watch = CalendarWatch(choices.options, server)
        self.watch.check(utcnow())
        if server is not None:
            # The SLA-breach alert takes increase(): each series must exist (at 0) before its first breach.
            breaches = server.metric(Counter, *SLA_BREACHES)
            for sla_class in choices.plugins.sla_policy.terms():
                for deadline in ("response", "resolution"):
                    breaches.labels(deadline, sla_class)

    def get_dependency(self, worker_ctx) -> CalendarWatch | None:
        return self.watch


class SweepTimer(Timer):
    """nameko's timer, with its interval from ``services.ticketing.options.sweep_interval``."""

    def setup(self):
        self.interval = choices_of(self.container).options.sweep_interval
        super().setup()


class TicketingService(RedpropService):
    name = "ticketing"
    contract = c.CONTRACT
    extension_points = (ROUTER, SLA_POLICY, NOTIFIERS)
    options_model = TicketingOptions

    db = Database(m.metadata, migrations=MIGRATIONS)
    events = EventOutbox()
    registry = ServiceRpc("registry")
    projects = ServiceRpc("projects")  # the emergency fund's ledger (options.fund_ledger: projects)
    categories = CatalogueProvider()
    notify_after_commit = Notices()
    calendar_watch = CalendarWatchProvider()
    places = PlaceCache()
    group = GroupCommit()

    # -- helpers ---------------------------------------------------------------------------------

    def _desk(self, session=None, clock=utcnow) -> TicketDesk:
        return TicketDesk(self.db if session is None else session, self.district, self.categories,
                          self.plugins.sla_policy, self.plugins.router, self.options.at_risk_fraction, clock)

    def _settle(self, outcome: Outcome, written: bool = False) -> None:
        """The one place a desk's outcome takes effect: its rows written and its events staged in the
        outbox (unless ``written``: intake's group commit wrote both with its batch, see ``submit``),
        the metrics counted, and the notices sent once the transaction is committed."""
        if not written:
            write_rows(self.db, outcome)
            for evt in outcome.events:
                self.events.emit(evt)
        for deadline, sla_class in outcome.breaches:
            self.metrics.counter(*SLA_BREACHES).labels(deadline, sla_class).inc()
        for trigger, level in outcome.escalations:
            self.metrics.counter("redprop_ticketing_escalations", "Tickets escalated up the ladder.",
                                 ("trigger", "to_level")).labels(trigger, level).inc()
        for measure, sla_class, seconds in outcome.timings:
            self.metrics.histogram(f"redprop_ticketing_time_to_{measure}_seconds",
                                   f"Time from intake to {measure}.", ("sla_class",),
                                   buckets=TIME_BUCKETS).labels(sla_class).observe(seconds)
        if outcome.notices:
            self.notify_after_commit(outcome.notices)

    def _place(self, *, building_id=None, complex_id=None, point=None):
        if building_id is not None:
            return self.places.get(("building", building_id), lambda: self.registry.resolve(building_id=building_id))
        if complex_id is not None:
            return self.places.get(("complex", complex_id), lambda: self.registry.resolve(complex_id=complex_id))
        return self.registry.resolve(point=point)

    def _check_resident(self, resident_id: str) -> None:
        try:
            self.places.get(("person", resident_id), lambda: self.registry.get(kind="person", id=resident_id))
        except NotFound:
            raise NotFound.entity("person", resident_id, "resident_id") from None

    @broadcast_handler("registry", StructureChanged)
    def on_registry_changed(self, evt: StructureChanged) -> None:
        """Every replica forgets its cached places when the district's structure changes."""
        self.places.clear()

    @event_handler("registry", PersonErased)
    def on_person_erased(self, evt: PersonErased) -> None:
        """A person erased on request (PIPL Art. 47): blank the contact data held about them."""
        if evt.district == self.district:
            erasure.blank_person(self.db, self.district, evt.person_id)

    @event_handler("mediation", CaseOpened, CaseConcluded)
    def on_mediation_case(self, evt: CaseOpened | CaseConcluded) -> None:
        """A dispute ticket follows its mediation case (the dispute loop, dispute.py)."""
        if (outcome := dispute.follow(self._desk(), evt)) is not None:
            self._settle(outcome)

    def _place_of(self, row: TicketRecord):
        return self._place(building_id=row.building_id) if row.building_id else self._place(complex_id=row.complex_id)

    def _reply(self, desk: TicketDesk, row: TicketRecord) -> c.TicketReply:
        return c.TicketReply(ticket=desk.view(row), possible_duplicate_of=row.duplicate_of)

    def _transition(self, request: c.TicketCommand, step) -> c.TicketReply:
        desk = self._desk()
        row = desk.load(request.ticket_id)
        guards.admit(self.authz, row, request.actor)  # before any status check: no existence oracle
        self._settle(step(desk, row))
        return self._reply(desk, row)

    def _original(self, desk: TicketDesk, row: TicketRecord,
                  request: c.FollowRequest | c.MergeRequest) -> TicketRecord:
        """The original a duplicate follows or is merged into, as the actor may name it: a resident only
        the likely original intake named (or a ticket of their own), a worker one their post covers."""
        original = desk.load(request.original_id, "original_id")
        actor = request.actor
        if actor.kind == "resident":
            if original.id != row.duplicate_of and original.resident_id != actor.id:
                raise NotFound.entity("ticket", request.original_id, "original_id")
        else:
            guards.admit(self.authz, original, actor, "original_id")
        return original

    # -- intake ----------------------------------------------------------------------------------

    @command
    def submit(self, request: c.SubmitRequest) -> c.TicketReply:
        options = self.options
        self.categories.get(request.category)  # fail fast, before calling the registry
        place = self._place(building_id=request.building_id, complex_id=request.complex_id,
                            point=request.point.model_dump() if request.point else None)
        self._check_resident(request.resident_id)
        if request.entered_by is not None:  # the person acting: a worker whose post covers the place
            guards.require_staff(self.authz, request.entered_by,
                                 place.building.id if place.building else place.complex.id, "entered_by")
        building_id = place.building.id if place.building else None

        def build(session, batch: dict) -> Write:
            # Runs in the transaction shared with the submits that arrived with this one (group commit);
            # it may run again alone if that transaction fails, so it only reads and returns rows.
            unsaved = batch.setdefault(("tickets", building_id or place.complex.id, request.category), [])
            duplicate = likely_original(
                session, district=self.district, category=request.category, building_id=building_id,
                complex_id=place.complex.id, description=request.description, now=utcnow(),
                window_days=options.duplicate_window_days, threshold=options.duplicate_similarity,
                unsaved=unsaved, stored=batch.setdefault("stored duplicate candidates", {}))
            desk = self._desk(session)
            outcome = desk.submit(request, place, duplicate, options.auto_dispatch)
            row = outcome.result
            unsaved.append((row.id, row.description))
            reply = self._reply(desk, row)
            assert not outcome.updates, "intake only creates rows"
            return Write([*outcome.inserts, self.events.rows(outcome.events)], (reply, outcome), reply)

        reply, outcome = self.group(request, build)  # the outcome of the build that was committed
        logs.bind(ticket_id=reply.ticket.id)  # known from here on: the after-commit notices log it
        self._settle(outcome, written=True)
        return reply

    @command
    def dispatch(self, request: c.DispatchRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.dispatch(r, self._place_of(r), request))

    # -- the handler's side ----------------------------------------------------------------------

    @command
    def accept(self, request: c.AcceptRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.accept(r, request))

    @command
    def reject(self, request: c.RejectRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.reject(r, self._place_of(r), request))

    @command
    def transfer(self, request: c.TransferRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.transfer(r, request))

    @command
    def note(self, request: c.NoteRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.note(r, request))

    @command
    def resume(self, request: c.ResumeRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.resume(r, request))

    @command
    def resolve(self, request: c.ResolveRequest) -> c.TicketReply:
        def step(desk, row):
            outcome = desk.resolve(row, request)
            funddraw.draw_for_resolution(self.projects, self.options.fund_ledger, row, request)  # before the commit
            return outcome

        return self._transition(request, step)

    # -- the resident's and workers' side --------------------------------------------------------

    @command
    def rate(self, request: c.RateRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.rate(r, request))

    @command
    def reopen(self, request: c.ReopenRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.reopen(r, request))

    @command
    def close(self, request: c.CloseRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.close(r, request))

    @command
    def cancel(self, request: c.CancelRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.cancel(r, request))

    @command
    def escalate(self, request: c.EscalateRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.escalate(r, self._place_of(r), request.actor, "request",
                                                                 request.reason))

    @command
    def follow(self, request: c.FollowRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.follow(r, self._original(d, r, request), request))

    @command
    def merge(self, request: c.MergeRequest) -> c.TicketReply:
        return self._transition(request, lambda d, r: d.merge(r, self._original(d, r, request), request))

    # -- price list ------------------------------------------------------------------------------

    def _check_price_setter(self, request: c.SetPriceListRequest) -> None:
        """The permit let in a company manager or an officer; the record decides which list is theirs."""
        if self.authz.holds(request.actor, ("district_officer", "housing_officer")):
            return
        if request.company_id is not None and any(
                g.organisation_id == request.company_id for g in self.authz.posts(request.actor, ("company_manager",))):
            return
        whose = f"company {request.company_id}'s" if request.company_id else "the district's"
        raise PermissionDenied(f"{request.actor} may not set {whose} price list (its manager, or a district or "
                               "housing officer)", {"field": "actor", "check": "scope",
                                                     "company_id": request.company_id})

    @command
    def set_price_list(self, request: c.SetPriceListRequest) -> c.PriceListReply:
        self._check_price_setter(request)
        pricing.replace_price_list(self.db, self.district, request.company_id, request.items)
        self.db.flush()
        return c.PriceListReply(company_id=request.company_id,
                                items=pricing.price_list(self.db, self.district, request.company_id))

    @query
    def price_list(self, request: c.PriceListRequest) -> c.PriceListReply:
        return c.PriceListReply(company_id=request.company_id,
                                items=pricing.price_list(self.db, self.district, request.company_id))

    # -- the SLA sweep ---------------------------------------------------------------------------

    @command
    def sweep(self, request: c.SweepRequest) -> c.SweepReply:
        totals = self._sweep(request.now or utcnow())
        return c.SweepReply(**totals.__dict__)

    @SweepTimer.decorator(interval=60, eager=True)  # eager: the open-tickets gauge is filled at start
    def scheduled_sweep(self) -> None:
        now = utcnow()
        self.calendar_watch.check(now)  # the gauge, and the daily warning when it runs out soon
        totals = self._sweep(now)
        if totals.examined:
            log.info("SLA sweep: %s", totals)
        self._refresh_open_gauge()

    def _sweep(self, now: datetime) -> SweepTotals:
        totals = SweepTotals()
        batch = self.options.sweep_batch
        while True:
            desk = self._desk(clock=lambda: now)
            examined, outcome = sweep_batch(desk, now, batch, self._place_of, totals)
            self._settle(outcome)
            self.db.commit()  # one transaction per batch: a long sweep holds no locks for long
            if examined < batch:
                return totals

    def _refresh_open_gauge(self) -> None:
        gauge = self.metrics.gauge("redprop_ticketing_open_tickets", "Open tickets by status and SLA class.",
                                   ("status", "sla_class"))
        counts = dict.fromkeys(((s, k) for s in c.OPEN_STATUSES
                                for k in ("emergency", "utilities", "general", "complex")), 0)
        for status, sla_class, n in self.db.execute(
                select(m.tickets.c.status, m.tickets.c.sla_class, func.count()).where(
                    m.tickets.c.district == self.district, m.tickets.c.status.in_(c.OPEN_STATUSES))
                .group_by(m.tickets.c.status, m.tickets.c.sla_class)):
            counts[(status, sla_class)] = n
        for (status, sla_class), n in counts.items():
            gauge.labels(status, sla_class).set(n)

    # -- reads -----------------------------------------------------------------------------------

    @query
    def get(self, request: c.GetTicketRequest) -> c.TicketReply:
        desk = self._desk()
        row = desk.load(request.ticket_id, for_update=False)
        if not guards.may_see(self.authz, row, request.viewer):
            raise NotFound.entity("ticket", request.ticket_id, "ticket_id")  # as if it did not exist
        return self._reply(desk, row)

    def _visible(self, viewer: c.Actor):
        """The tickets ``viewer`` may see, as a condition on the tickets table."""
        t = m.tickets.c
        if viewer.kind == "resident":
            return t.resident_id == viewer.id
        if viewer.kind == "handler":
            guards.require_acts_for(self.authz, viewer)
            return (t.handler_kind == viewer.handler_kind) & (t.handler_id == viewer.id)
        covers = {p for g in self.authz.posts(viewer.id, c.STAFF_ROLES) for p in g.covers}
        if viewer.kind != "worker" or not covers:
            raise PermissionDenied(f"{viewer.person} holds no worker or official post to list tickets with",
                                   {"field": "viewer", "check": "role", "roles": list(c.STAFF_ROLES)})
        places = (t.district_region_id, t.subdistrict_id, t.community_id, t.complex_id, t.grid_id, t.building_id)
        return or_(*(column.in_(sorted(covers)) for column in places))

    @query
    def list(self, request: c.ListTicketsRequest) -> c.TicketList:
        t = m.tickets.c
        query_ = select(m.tickets).where(t.district == self.district, self._visible(request.viewer))
        filters = {"complex_id": t.complex_id, "community_id": t.community_id, "grid_id": t.grid_id,
                   "handler_id": t.handler_id, "resident_id": t.resident_id, "category": t.category,
                   "sla_state": t.sla_state}
        for name, column in filters.items():
            value = getattr(request, name)
            if value is not None:
                query_ = query_.where(column == value)
        if request.status:
            query_ = query_.where(t.status.in_(request.status))
        if request.submitted_since is not None:
            query_ = query_.where(t.submitted_at >= request.submitted_since)
        if request.submitted_until is not None:
            query_ = query_.where(t.submitted_at <= request.submitted_until)
        total = self.db.execute(select(func.count()).select_from(query_.subquery())).scalar_one()
        rows = self.db.execute(query_.order_by(t.submitted_at.desc(), t.id).limit(request.limit)
                               .offset(request.offset)).all()
        return c.TicketList(tickets=[views.ticket(r, []) for r in rows], total=total)

    @query
    def catalogue(self, request: c.CatalogueRequest) -> c.CatalogueReply:
        terms = self.plugins.sla_policy.terms()
        return c.CatalogueReply(categories=self.categories.all(),
                                sla={k: v.model_dump() for k, v in terms.items()})

    @query
    def stats(self, request: c.StatsRequest) -> c.StatsReply:
        rows, total = stats.rates(self.db, self.district, request.group_by, request.since, request.until)
        return c.StatsReply(group_by=request.group_by, rows=rows, total=total)

    @query
    def monthly_summary(self, request: c.MonthlySummaryRequest) -> c.MonthlySummaryReply:
        return c.MonthlySummaryReply(**stats.monthly_summary(self.db, self.district, request.complex_id,
                                                             request.month))

    @query
    def fund_usage(self, request: c.FundUsageRequest) -> c.FundUsageReply:
        total, uses = stats.fund_usage(self.db, self.district, request.complex_id, request.year)
        return c.FundUsageReply(complex_id=request.complex_id, total=total, uses=uses)
