"""The matching service: entrypoints only; the work is in intake, planner, lifecycle and store, and for
the city release (``options.role: city``) in city and city_decisions; announce tells the city what a
district has left."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from nameko.extensions import DependencyProvider
from sqlalchemy import func, insert, select

from redprop.clock import utcnow
from redprop.contracts import matching as c
from redprop.contracts.registry import PersonErased, StructureChanged
from redprop.db import Database
from redprop.errors import Conflict, NotFound
from redprop.messaging import EventOutbox, ServiceRpc, command, event_handler, query, role_handler
from redprop.service import RedpropService
from redprop.services.matching import (
    announce,
    city,
    city_decisions,
    erasure,
    intake,
    lifecycle,
    planner,
    store,
    text,
)
from redprop.services.matching import models as m
from redprop.services.matching.fairness import FAIRNESS
from redprop.services.matching.options import MatchingOptions
from redprop.services.matching.scorers import SCORERS
from redprop.services.matching.taxonomy import CATEGORIES

MIGRATIONS = Path(__file__).parent / "migrations"
#: Time to match runs from minutes to weeks.
MATCH_BUCKETS = (60, 600, 3600, 6 * 3600, 86_400, 3 * 86_400, 7 * 86_400, 30 * 86_400, 90 * 86_400)


class Tokeniser(DependencyProvider):
    """Loads jieba's dictionary when the service starts, not in the first matching run."""

    def setup(self):
        text.warm_up()


def today() -> date:
    return utcnow().date()


class MatchingService(RedpropService):
    name = "matching"
    contract = c.CONTRACT
    extension_points = (SCORERS, FAIRNESS)
    options_model = MatchingOptions

    db = Database(m.metadata, migrations=MIGRATIONS)
    events = EventOutbox()
    registry = ServiceRpc("registry")
    tokeniser = Tokeniser()

    def _emit(self, events, offer_ids=(), need_ids=()) -> None:
        """Emit the events, then what is left of every offer and need they touched (for the city)."""
        events = list(events)
        for evt in events:
            self.events.emit(evt)
        offers, needs = announce.touched(self.db, self.district, events)
        left = announce.remainder(self.db, self.district, offers | set(offer_ids), needs | set(need_ids), today())
        if left is not None:
            self.events.emit(left)

    # -- the lists -------------------------------------------------------------------------------

    @command
    def add_offers(self, request: c.AddOffersRequest) -> c.AddOffersReply:
        rows = intake.offer_rows(request.offers, self.district, intake.RegistryLookup(self.registry), today())
        self._refuse_taken_ids(m.offers, [r["id"] for r in rows], "offers")
        self.db.execute(insert(m.offers), rows)
        read = self._rows(m.offers, [r["id"] for r in rows])
        records = store.offer_records(self.db, self.district, read, today())
        self.events.emit(c.OffersAdded(district=self.district, offer_ids=[r["id"] for r in rows], offers=records))
        self._update_gauges()
        return c.AddOffersReply(offers=records)

    @command
    def add_needs(self, request: c.AddNeedsRequest) -> c.AddNeedsReply:
        rows = intake.need_rows(request.needs, self.district, intake.RegistryLookup(self.registry), today())
        self._refuse_taken_ids(m.needs, [r["id"] for r in rows], "needs")
        self.db.execute(insert(m.needs), rows)
        read = self._rows(m.needs, [r["id"] for r in rows])
        records = store.need_records(self.db, self.district, read)
        self.events.emit(c.NeedsAdded(district=self.district, need_ids=[r["id"] for r in rows], needs=records))
        self._update_gauges()
        return c.AddNeedsReply(needs=records)

    @command
    def withdraw_offer(self, request: c.WithdrawOfferRequest) -> c.OfferReply:
        reply, events = lifecycle.withdraw_offer(self.db, self.district, request.offer_id, today())
        self._emit(events)
        self._update_gauges()
        return reply

    @command
    def cancel_need(self, request: c.CancelNeedRequest) -> c.NeedReply:
        reply, events = lifecycle.cancel_need(self.db, self.district, request.need_id)
        p = m.proposals.c
        partners = {r[0] for r in self.db.execute(select(p.offer_id).where(
            p.district == self.district, p.need_id == request.need_id))}
        self._emit(events, offer_ids=partners, need_ids=[request.need_id])
        self._update_gauges()
        return reply

    @command
    def provider_leaves(self, request: c.ProviderLeavesRequest) -> c.ProviderLeavesReply:
        reply, events = lifecycle.provider_leaves(self.db, self.district, request, today())
        self._emit(events, offer_ids=reply.offers_ended)
        self._update_gauges()
        return reply

    # -- matching and proposals ------------------------------------------------------------------

    @command
    def run_matching(self, request: c.RunMatchingRequest) -> c.RunMatchingReply:
        result = planner.run(self.db, self.district, request, list(self.plugins.scorers.values()),
                             self.plugins.fairness, today())
        self._emit(result.events)
        reply = result.reply
        self.metrics.counter("redprop_matching_proposed_value_yuan", "Value of proposed pairs").inc(
            float(reply.matched_value))
        self.metrics.histogram("redprop_matching_run_seconds", "Time to solve one matching run").observe(
            reply.solve_seconds)
        self._observe_time_to_match(reply.proposals)
        self._update_gauges()
        return reply

    @command
    def decide(self, request: c.DecideRequest) -> c.ProposalReply:
        reply, events = lifecycle.decide(self.db, self.district, request, today())
        self._emit(events if reply.changed else [])
        return reply

    @command
    def fulfil(self, request: c.FulfilRequest) -> c.ProposalReply:
        reply, events = lifecycle.fulfil(self.db, self.district, request, today())
        self._emit(events)
        self.metrics.counter("redprop_matching_savings_yuan", "What delivered help would have cost").inc(
            float(reply.proposal.savings or 0))
        self._update_gauges()
        return reply

    # -- reads -----------------------------------------------------------------------------------

    @query
    def list_offers(self, request: c.ListOffersRequest) -> c.ListOffersReply:
        return self._list_offers(request, request.recurring)

    @query
    def service_list(self, request: c.ListOffersRequest) -> c.ListOffersReply:
        return self._list_offers(request, True)

    @query
    def list_needs(self, request: c.ListNeedsRequest) -> c.ListNeedsReply:
        n = m.needs.c
        cond = [n.district == self.district]
        if request.status:
            cond.append(n.status == request.status)
        if request.category:
            cond.append(n.category == request.category)
        if request.requester_id:
            cond.append(n.requester_id == request.requester_id)
        total = self.db.execute(select(func.count()).select_from(m.needs).where(*cond)).scalar_one()
        rows = self.db.execute(select(m.needs).where(*cond).order_by(n.id)
                               .limit(request.limit).offset(request.offset)).all()
        return c.ListNeedsReply(needs=store.need_records(self.db, self.district, rows), total=total)

    @query
    def list_proposals(self, request: c.ListProposalsRequest) -> c.ListProposalsReply:
        p = m.proposals.c
        cond = [p.district == self.district]
        for column, value in ((p.status, request.status), (p.offer_id, request.offer_id),
                              (p.need_id, request.need_id), (p.run_id, request.run_id)):
            if value is not None:
                cond.append(column == value)
        total = self.db.execute(select(func.count()).select_from(m.proposals).where(*cond)).scalar_one()
        rows = self.db.execute(select(m.proposals).where(*cond).order_by(p.id)
                               .limit(request.limit).offset(request.offset)).all()
        return c.ListProposalsReply(proposals=[store.proposal_record(r) for r in rows], total=total)

    @query
    def get_proposal(self, request: c.GetProposalRequest) -> c.ProposalReply:
        return c.ProposalReply(proposal=store.proposal_record(
            store.get_proposal(self.db, self.district, request.proposal_id)), changed=False)

    @query
    def ledger(self, request: c.LedgerRequest) -> c.LedgerReply:
        return store.ledger(self.db, self.district, request.level)

    @query
    def categories(self, request: c.CategoriesRequest) -> c.CategoriesReply:
        return c.CategoriesReply(categories=[
            c.CategoryInfo(id=x.id, name=x.name, synonyms=list(x.synonyms), kind=x.kind,
                           transport_cost_per_km=x.transport_cost_per_km) for x in CATEGORIES])

    # -- city-wide matching (options.role: city) ---------------------------------------------------

    @command
    def run_city_matching(self, request: c.RunCityMatchingRequest) -> c.RunCityMatchingReply:
        self._require_role("city", "run_city_matching")
        reply, events = city.run(self.db, self.district, request, list(self.plugins.scorers.values()), today())
        self._emit(events)
        self.metrics.counter("redprop_matching_city_proposed_value_yuan",
                             "Value of pairs proposed across district lines").inc(float(reply.matched_value))
        self._update_pool_gauge()
        return reply

    @query
    def city_pool(self, request: c.CityPoolRequest) -> c.CityPoolReply:
        self._require_role("city", "city_pool")
        return city.pool(self.db, self.district, request)

    @query
    def list_city_proposals(self, request: c.ListCityProposalsRequest) -> c.ListCityProposalsReply:
        return city.list_proposals(self.db, self.district, request)

    @command
    def decide_city_proposal(self, request: c.DecideCityProposalRequest) -> c.CityProposalReply:
        self._require_role("district", "decide_city_proposal")
        reply, events = city_decisions.decide(self.db, self.district, request, today())
        self._emit(events)
        return reply

    @command
    def fulfil_city_proposal(self, request: c.FulfilCityProposalRequest) -> c.CityProposalReply:
        self._require_role("district", "fulfil_city_proposal")
        reply, events = city_decisions.fulfil(self.db, self.district, request, today())
        self._emit(events, need_ids=[reply.proposal.need_id])
        self.metrics.counter("redprop_matching_savings_yuan", "What delivered help would have cost").inc(
            float(reply.proposal.savings or 0))
        self._update_gauges()
        return reply

    # The districts' events reach the city vhost by federation of their ``matching.events`` exchanges.
    @role_handler("city", "matching", c.OffersAdded)
    def on_district_offers(self, evt: c.OffersAdded) -> None:
        expired = city.add_records(self.db, self.district, "offer", evt.district, evt.offers, evt.occurred_at)
        self._emit(city.status_events(self.db, self.district, expired))
        self._update_pool_gauge()

    @role_handler("city", "matching", c.NeedsAdded)
    def on_district_needs(self, evt: c.NeedsAdded) -> None:
        expired = city.add_records(self.db, self.district, "need", evt.district, evt.needs, evt.occurred_at)
        self._emit(city.status_events(self.db, self.district, expired))
        self._update_pool_gauge()

    @role_handler("city", "matching", c.RemainderChanged)
    def on_district_remainder(self, evt: c.RemainderChanged) -> None:
        expired = city.apply_remainder(self.db, self.district, evt)
        self._emit(city.status_events(self.db, self.district, expired))
        self._update_pool_gauge()

    @role_handler("city", "matching", c.CityProposalDecided)
    def on_district_decision(self, evt: c.CityProposalDecided) -> None:
        self._emit(city_decisions.apply_decision(self.db, self.district, evt))

    @role_handler("city", "matching", c.CityProposalFulfilled)
    def on_district_fulfilment(self, evt: c.CityProposalFulfilled) -> None:
        self._emit(city_decisions.apply_fulfilment(self.db, self.district, evt))
        self._update_pool_gauge()

    # ...and the city's proposals reach the districts by federation the other way (docs/matching.md).
    @role_handler("district", "matching", c.CityProposalsMade)
    def on_city_proposals(self, evt: c.CityProposalsMade) -> None:
        if evt.district != self.district:
            city.keep_for_district(self.db, self.district, evt)

    @role_handler("district", "matching", c.CityProposalStatusChanged)
    def on_city_proposal_status(self, evt: c.CityProposalStatusChanged) -> None:
        if evt.district != self.district:
            offer_ids, need_ids = city_decisions.apply_status(self.db, self.district, evt, today())
            self._emit([], offer_ids=offer_ids, need_ids=need_ids)
            self._update_gauges()

    # -- the registry tells us when an enterprise relocates or goes ------------------------------

    @event_handler("registry", StructureChanged)
    def on_structure_changed(self, evt: StructureChanged) -> None:
        changed = {ch.id: ch.change for ch in evt.changes if ch.kind == "organisation"}
        if not changed or evt.district != self.district:
            return
        o = m.offers.c
        providers = {r[0] for r in self.db.execute(select(o.provider_id).where(
            o.district == self.district, o.status == "open", o.provider_kind == "organisation",
            o.provider_id.in_(list(changed))))}
        for provider_id in sorted(providers):
            if changed[provider_id] == "removed":
                leaves = today()
            else:
                try:
                    leaves = self.registry.get(kind="organisation", id=provider_id).record.relocation_date
                except NotFound:
                    leaves = today()
            if leaves is not None:
                left, events = lifecycle.provider_leaves(
                    self.db, self.district, c.ProviderLeavesRequest(
                        provider_id=provider_id, on=leaves, request_id=f"evt-{evt.event_id[:40]}",
                        actor="registry"),  # the registry's own announcement, not a caller: no permit
                    today())
                self._emit(events, offer_ids=left.offers_ended)

    @event_handler("registry", PersonErased)
    def on_person_erased(self, evt: PersonErased) -> None:
        """A person erased on request (PIPL Art. 47): blank the contact data held about them."""
        if evt.district == self.district:
            erasure.blank_person(self.db, self.district, evt.person_id)

    # -- helpers ---------------------------------------------------------------------------------

    def _list_offers(self, request: c.ListOffersRequest, recurring: bool | None) -> c.ListOffersReply:
        o = m.offers.c
        cond = [o.district == self.district]
        if request.status:
            cond.append(o.status == request.status)
        if request.category:
            cond.append(o.category == request.category)
        if request.provider_id:
            cond.append(o.provider_id == request.provider_id)
        if recurring is not None:
            cond.append(o.recurrence != "none" if recurring else o.recurrence == "none")
        total = self.db.execute(select(func.count()).select_from(m.offers).where(*cond)).scalar_one()
        rows = self.db.execute(select(m.offers).where(*cond).order_by(o.id)
                               .limit(request.limit).offset(request.offset)).all()
        return c.ListOffersReply(offers=store.offer_records(self.db, self.district, rows, today()), total=total)

    def _rows(self, table, ids: list[str]) -> list:
        by_id = {r.id: r for r in self.db.execute(select(table).where(
            table.c.district == self.district, table.c.id.in_(ids)))}
        return [by_id[i] for i in ids]

    def _refuse_taken_ids(self, table, ids: list[str], field: str) -> None:
        taken = {r[0] for r in self.db.execute(select(table.c.id).where(
            table.c.district == self.district, table.c.id.in_(ids)))}
        if taken:
            index = ids.index(min(taken))
            raise Conflict(f"{field[:-1]} {min(taken)!r} already exists",
                           {"field": f"{field}.{index}.id", "ids": sorted(taken)})

    def _require_role(self, role: str, operation: str) -> None:
        if self.options.role != role:
            raise Conflict(f"{operation} runs only where services.matching.options.role is {role!r}; "
                           f"this instance is {self.options.role!r}", {"role": self.options.role})

    def _update_pool_gauge(self) -> None:
        gauge = self.metrics.gauge("redprop_matching_city_pool_open", "Open offers and needs pooled by the city",
                                   ("side",))
        t = m.city_pool.c
        counts = dict(self.db.execute(select(t.side, func.count()).where(
            t.status == "open", t.open_quantity > 0).group_by(t.side)).all())
        for side in ("offer", "need"):
            gauge.labels(side=side).set(counts.get(side, 0))

    def _update_gauges(self) -> None:
        for table, label in ((m.offers, "offers"), (m.needs, "needs")):
            gauge = self.metrics.gauge(f"redprop_matching_open_{label}", f"Open {label} by category", ("category",))
            counts = dict(self.db.execute(select(table.c.category, func.count()).where(
                table.c.district == self.district, table.c.status == "open").group_by(table.c.category)).all())
            for category in [x.id for x in CATEGORIES]:
                gauge.labels(category=category).set(counts.get(category, 0))

    def _observe_time_to_match(self, proposals: list[c.ProposalRecord]) -> None:
        if not proposals:
            return
        need_ids = sorted({p.need_id for p in proposals})
        histogram = self.metrics.histogram("redprop_matching_time_to_match_seconds",
                                           "From a need's arrival to its first proposal", buckets=MATCH_BUCKETS)
        p = m.proposals.c
        earlier = {r[0] for r in self.db.execute(select(p.need_id).where(
            p.district == self.district, p.need_id.in_(need_ids), p.run_id != proposals[0].run_id))}
        now = utcnow()
        for row in self._rows(m.needs, [i for i in need_ids if i not in earlier]):
            histogram.observe(max(0.0, (now - row.created_at).total_seconds()))
