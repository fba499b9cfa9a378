"""The participation service: entrypoints only; the work is in activities, ledger, rewards, commitments and
board, who may act in actors."""

from __future__ import annotations

import logging
from pathlib import Path

from redprop.clock import utcnow
from redprop.contracts import matching as mt
from redprop.contracts import mediation as md
from redprop.contracts import participation as c
from redprop.contracts import ticketing as t
from redprop.db import Database
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.messaging import EventOutbox, ServiceRpc, command, query
from redprop.messaging.batches import batch_event_handler
from redprop.service import RedpropService
from redprop.services.participation import (
    activities,
    actors,
    board,
    commitments,
    ledger,
    rewards,
    views,
)
from redprop.services.participation import models as m
from redprop.services.participation.earning import EARNING, Fact
from redprop.services.participation.options import ParticipationOptions
from redprop.services.participation.periods import this_year

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


class ParticipationService(RedpropService):
    name = "participation"
    contract = c.CONTRACT
    extension_points = (EARNING,)
    options_model = ParticipationOptions

    db = Database(m.metadata, migrations=MIGRATIONS)
    events = EventOutbox()
    registry = ServiceRpc("registry")

    # -- earning -----------------------------------------------------------------------------------
    # The events that earn points are consumed in batches (``messaging/batches.py``): the events that arrive
    # together earn in one transaction, with one inbox look-up and three ledger statements for all of them.
    # A batch that fails runs again one event at a time, so a poison event costs only itself.

    def _earn(self, fact: Fact) -> int:
        return self._earn_many([fact])[0]

    def _earn_many(self, facts: list[Fact]) -> list[int]:
        """Credit the awards of many facts in one go, each once (the ledger's source key; the inbox already
        drops redeliveries); the points each fact earned now."""
        items, owners = [], []
        for k, fact in enumerate(facts):
            for n, award in enumerate(self.plugins.earning.awards(fact)):
                items.append((award, fact.source if n == 0 else f"{fact.source}#{n}", fact.at))
                owners.append(k)
        earned = [0] * len(facts)
        counter = self.metrics.counter("redprop_participation_points_earned", "Micro-points earned.", ("fact",))
        for (award, source, _at), k, new in zip(items, owners, ledger.earn_many(self.db, self.district, items),
                                                strict=True):
            if not new:
                continue
            earned[k] += award.points
            self.events.emit(c.PointsEarned(district=self.district, person_id=award.person_id,
                                            points=award.points, rule=award.rule, source=source))
            counter.labels(facts[k].kind).inc(award.points)
        return earned

    @batch_event_handler("ticketing", t.TicketRated)
    def on_ticket_rated(self, events: list[t.TicketRated]) -> None:
        """A ticket the resident confirmed and rated earns them points (once per event)."""
        self._earn_many([Fact(kind="ticket_rated", person_id=evt.actor.id, source=f"ticketing:{evt.event_id}",
                              at=evt.occurred_at) for evt in events if evt.actor.kind == "resident"])

    def _known(self, person_id: str, fact: str, seen: dict[str, bool]) -> bool:
        """Only a person the registry knows earns; anyone else is logged and skipped (the event is consumed).
        ``seen`` keeps the answers within one batch: a person in several of its events is asked about once."""
        if person_id in seen:
            return seen[person_id]
        try:
            self.registry.get(kind="person", id=person_id)
            seen[person_id] = True
        except NotFound:
            log.warning("participation: %s for %s, whom the registry does not know: no points", fact, person_id)
            self.metrics.counter("redprop_participation_unknown_earners", "Facts for people the registry does "
                                 "not know (no points).", ("fact",)).labels(fact).inc()
            seen[person_id] = False
        return seen[person_id]

    @batch_event_handler("mediation", md.MeetingRecorded)
    def on_meeting_recorded(self, events: list[md.MeetingRecorded]) -> None:
        """Each attendee of a deliberation meeting earns points, once per meeting and person."""
        seen: dict[str, bool] = {}
        self._earn_many([Fact(kind="meeting_attended", person_id=person_id,
                              source=f"mediation:meeting:{evt.meeting_id}:{person_id}", at=evt.held_at)
                         for evt in events for person_id in dict.fromkeys(evt.attendee_ids)
                         if self._known(person_id, "meeting_attended", seen)])

    @batch_event_handler("mediation", md.BallotCast)
    def on_ballot_cast(self, events: list[md.BallotCast]) -> None:
        """Voting in a consultation earns points once per consultation and person: a re-cast ballot earns
        nothing more. The event carries no choice, and nothing here would record one."""
        seen: dict[str, bool] = {}
        self._earn_many([Fact(kind="voted", person_id=evt.person_id,
                              source=f"mediation:vote:{evt.consultation_id}:{evt.person_id}", at=evt.cast_at)
                         for evt in events if self._known(evt.person_id, "voted", seen)])

    @batch_event_handler("matching", mt.ProposalFulfilled)
    def on_proposal_fulfilled(self, events: list[mt.ProposalFulfilled]) -> None:
        """A person's donation delivered through matching earns them points, once per proposal. An
        organisation's offer earns nothing (points are residents')."""
        seen: dict[str, bool] = {}
        self._earn_many([Fact(kind="donation_fulfilled", person_id=evt.provider_id,
                              source=f"matching:donation:{evt.proposal_id}", at=evt.occurred_at)
                         for evt in events if evt.provider_kind == "person" and evt.provider_id is not None
                         and self._known(evt.provider_id, "donation_fulfilled", seen)])

    # -- activities and turns ----------------------------------------------------------------------

    def _activity_reply(self, activity_id: str) -> c.ActivityReply:
        row = activities.load(self.db, self.district, activity_id)
        return c.ActivityReply(activity=views.activity(row, activities.counts(self.db, self.district, row.id)))

    @command
    def create_activity(self, request: c.CreateActivityRequest) -> c.ActivityReply:
        actors.community(self.registry, request.community_id)
        if request.complex_id is not None:
            actors.complex_in(self.registry, request.complex_id, request.community_id)
        actors.check_organiser(self.registry, request.actor, request.community_id, "organise an activity there")
        return self._activity_reply(activities.create(self.db, self.district, request, utcnow()))

    @query
    def get_activity(self, request: c.GetActivityRequest) -> c.ActivityReply:
        return self._activity_reply(request.activity_id)

    @query
    def list_activities(self, request: c.ListActivitiesRequest) -> c.ActivityList:
        rows, total = activities.list_rows(self.db, self.district, request)
        return c.ActivityList(activities=[views.activity(r, activities.counts(self.db, self.district, r.id))
                                          for r in rows], total=total)

    @command
    def sign_up(self, request: c.SignUpRequest) -> c.AttendanceReply:
        row = activities.load(self.db, self.district, request.activity_id)
        actors.person(self.registry, request.actor, "actor")
        return c.AttendanceReply(attendance=views.attendance(
            activities.sign_up(self.db, self.district, row, request.actor, utcnow())))

    @command
    def check_in(self, request: c.CheckInRequest) -> c.AttendanceReply:
        row = activities.load(self.db, self.district, request.activity_id)
        activities.check_organiser(row, request.actor)
        actors.person(self.registry, request.person_id, "person_id")
        return c.AttendanceReply(attendance=views.attendance(
            activities.check_in(self.db, self.district, row, request.person_id, utcnow())))

    @command
    def record_turn(self, request: c.RecordTurnRequest) -> c.TurnReply:
        row = activities.load(self.db, self.district, request.activity_id)
        activities.check_organiser(row, request.actor)
        if request.role == "party_member":
            actors.party_member(self.registry, request.person_id, "person_id")
        if request.unit_id is not None:
            actors.organisation(self.registry, request.unit_id, "unit_id")
        turn_id = activities.record_turn(self.db, self.district, row, request)
        return self._turn_reply(turn_id)

    def _turn_reply(self, turn_id: str) -> c.TurnReply:
        turn = views.turn(activities.load_turn(self.db, self.district, turn_id))
        self.events.emit(c.TurnRecorded(district=self.district, turn=turn))
        self.metrics.counter("redprop_participation_turns", "Turns of service recorded.", ("role",)).labels(
            turn.role).inc()
        points = self._earn(Fact(kind="turn", person_id=turn.person_id, source=f"turn:{turn.id}", at=turn.at,
                                 hours=turn.hours, role=turn.role))
        return c.TurnReply(turn=turn, points=points)

    @query
    def list_turns(self, request: c.ListTurnsRequest) -> c.TurnList:
        rows, total = activities.list_turns(self.db, self.district, request)
        return c.TurnList(turns=[views.turn(r) for r in rows], total=total)

    @query
    def totals(self, request: c.TotalsRequest) -> c.TotalsReply:
        return activities.totals(self.db, self.district, request)

    # -- micro-points ------------------------------------------------------------------------------

    @query
    def balance(self, request: c.BalanceRequest) -> c.BalanceReply:
        balance, earned, spent, expired, rows, count = ledger.explain(self.db, self.district, request.person_id,
                                                                      request.limit)
        return c.BalanceReply(person_id=request.person_id, balance=balance, earned=earned, spent=spent,
                              expired=expired, entries=[views.entry(r) for r in rows], entries_total=count)

    @command
    def add_reward(self, request: c.AddRewardRequest) -> c.RewardReply:
        actors.community(self.registry, request.community_id)
        actors.check_organiser(self.registry, request.actor, request.community_id, "add to its rewards catalogue")
        reward_id = rewards.add(self.db, self.district, request.community_id, request.name, request.cost,
                                request.stock, utcnow())
        return c.RewardReply(reward=views.reward(rewards.load(self.db, self.district, reward_id)))

    @query
    def list_rewards(self, request: c.ListRewardsRequest) -> c.RewardList:
        rows, total = rewards.list_rows(self.db, self.district, request.community_id, request.limit, request.offset)
        return c.RewardList(rewards=[views.reward(r) for r in rows], total=total)

    @command
    def redeem(self, request: c.RedeemRequest) -> c.RedeemReply:
        reward = rewards.load(self.db, self.district, request.reward_id)
        actors.person(self.registry, request.actor, "actor")
        redemption_id, points = rewards.redeem(self.db, self.district, request.actor, reward, request.quantity,
                                               utcnow())
        self.events.emit(c.PointsSpent(district=self.district, person_id=request.actor, points=points,
                                       reward_id=reward.id, community_id=reward.community_id))
        self.metrics.counter("redprop_participation_points_spent", "Micro-points spent on rewards.").inc(points)
        return c.RedeemReply(redemption_id=redemption_id, reward=views.reward(rewards.load(self.db, self.district,
                                                                                           reward.id)),
                             quantity=request.quantity, points=points,
                             balance=ledger.balance(self.db, self.district, request.actor))

    @command
    def expire_points(self, request: c.ExpireRequest) -> c.ExpireReply:
        after = self.options.points_expire_after_years
        if after is None:
            raise Conflict("this district's points do not expire (services.participation.options."
                           "points_expire_after_years is not set)", {"field": "year"})
        now = utcnow()
        if request.year + after > this_year(now):
            raise ValidationFailed.for_field("year", f"points of {request.year} expire at the end of "
                                                     f"{request.year + after - 1} (Beijing time), not yet")
        people, points = ledger.expire(self.db, self.district, request.year, now)
        return c.ExpireReply(year=request.year, people=people, points=points)

    # -- commitments, posts, tasks -----------------------------------------------------------------

    @command
    def pledge(self, request: c.PledgeRequest) -> c.PledgeReply:
        actors.community(self.registry, request.community_id)
        if request.complex_id is not None:
            actors.complex_in(self.registry, request.complex_id, request.community_id)
        member = actors.party_member(self.registry, request.actor, "actor")
        board.remember_name(self.db, self.district, member.id, member.name)
        pledge = views.pledge(commitments.load_pledge(self.db, self.district,
                                                      commitments.pledge(self.db, self.district, request, utcnow())))
        self.events.emit(c.PledgeMade(district=self.district, pledge=pledge))
        return c.PledgeReply(pledge=pledge)

    @command
    def designate_post(self, request: c.DesignateRequest) -> c.DesignationReply:
        actors.community(self.registry, request.community_id)
        actors.check_party_committee(self.registry, request.actor, request.community_id)
        member = actors.party_member(self.registry, request.person_id, "person_id")
        board.remember_name(self.db, self.district, member.id, member.name)
        designation_id = commitments.designate(self.db, self.district, request, utcnow())
        return c.DesignationReply(designation=views.designation(
            commitments.load_designation(self.db, self.district, designation_id)))

    @command
    def assign_task(self, request: c.AssignTaskRequest) -> c.TaskReply:
        actors.community(self.registry, request.community_id)
        actors.check_organiser(self.registry, request.actor, request.community_id, "hand out its tasks")
        if request.assignee_kind == "unit":
            actors.organisation(self.registry, request.assignee_id, "assignee_id")
            actors.reporter(self.registry, request.community_id, request.assignee_id)
        else:
            actors.person(self.registry, request.assignee_id, "assignee_id")
            if not commitments.has_pledged(self.db, self.district, request.assignee_id, request.community_id):
                actors.reporter(self.registry, request.community_id, request.assignee_id)
        task_id = commitments.assign(self.db, self.district, request, utcnow())
        return c.TaskReply(task=views.task(commitments.load_task(self.db, self.district, task_id)))

    def _may_complete(self, row, actor: str) -> bool:
        if actor in (row.assignee_id, row.assigned_by):
            return True
        if row.assignee_kind == "unit" and any(r.reporter_id == actor and r.employer_id == row.assignee_id
                                               for r in actors.reports_to(self.registry, row.community_id)):
            return True  # an in-service member reporting from that unit acts for it
        return actors.holds_in(self.registry, actor, c.ORGANISERS, row.community_id)

    @command
    def complete_task(self, request: c.CompleteTaskRequest) -> c.TaskReply:
        row = commitments.load_task(self.db, self.district, request.task_id, for_update=True)
        actors.person(self.registry, request.actor, "actor")
        if not self._may_complete(row, request.actor):
            from redprop.errors import PermissionDenied

            raise PermissionDenied(f"{request.actor} is neither the assignee of task {row.id} nor a worker of "
                                   f"{row.community_id}", {"field": "actor"})
        for n, person in enumerate(request.people):
            actors.person(self.registry, person, f"people.{n}")
        turn_ids = commitments.complete(self.db, self.district, row, request, utcnow())
        task = views.task(commitments.load_task(self.db, self.district, row.id))
        self.events.emit(c.TaskDone(district=self.district, task=task))
        for turn_id in turn_ids:
            self._turn_reply(turn_id)
        return c.TaskReply(task=task)

    @query
    def list_tasks(self, request: c.ListTasksRequest) -> c.TaskList:
        rows, total = commitments.list_tasks(self.db, self.district, request)
        return c.TaskList(tasks=[views.task(r) for r in rows], total=total)

    @query
    def board(self, request: c.BoardRequest) -> c.BoardReply:
        community = actors.community(self.registry, request.community_id)
        if request.complex_id is not None:
            actors.complex_in(self.registry, request.complex_id, request.community_id)
        reports = actors.reports_to(self.registry, request.community_id)
        kinds, found = {}, {}
        for r in reports:
            try:
                found[r.reporter_id] = self.registry.get(kind="organisation", id=r.reporter_id).record.name
                kinds[r.reporter_id] = "unit"
            except NotFound:
                kinds[r.reporter_id] = "member"

        def name_of(id_: str) -> str:
            if id_ in found:
                return found[id_]
            return actors.person(self.registry, id_, "community_id").name

        year = request.year or this_year(utcnow())
        return board.build(self.db, self.district, community.id, community.name, request.complex_id, year, reports,
                           kinds, name_of)
