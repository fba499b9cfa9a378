"""The mediation service: entrypoints only; the work is in cases, deliberation, consultations, chain."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from nameko.timer import timer

from redprop.clock import utcnow
from redprop.contracts import mediation as c
from redprop.contracts.registry import PersonErased
from redprop.contracts.ticketing import DisputeReferred
from redprop.db import Database
from redprop.errors import NotFound, PermissionDenied, ValidationFailed
from redprop.messaging import EventOutbox, ServiceRpc, command, event_handler, query
from redprop.service import RedpropService
from redprop.services.mediation import (
    access,
    agenda,
    agreements,
    cases,
    consultations,
    deliberation,
    erasure,
    reminders,
    verification,
)
from redprop.services.mediation import models as m
from redprop.services.mediation.rules import LOCAL_RULES, VOTING_RULE, VotingRule, WithLocalRules
from redprop.services.mediation.timelimits import TIME_LIMITS, TimeLimitPolicy

MIGRATIONS = Path(__file__).parent / "migrations"
#: How often the service looks for due reminders on its own (seconds).
REMINDER_INTERVAL = 300
DAY_SECONDS = 86400
SETTLE_BUCKETS = tuple(d * DAY_SECONDS for d in (1, 3, 7, 14, 21, 30, 45, 60, 90, 180))
RATIO_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 2 / 3, 0.75, 0.8, 0.9, 1.0)


class MediationService(RedpropService):
    name = "mediation"
    contract = c.CONTRACT
    extension_points = (VOTING_RULE, LOCAL_RULES, TIME_LIMITS)

    db = Database(m.metadata, migrations=MIGRATIONS)
    events = EventOutbox()
    registry = ServiceRpc("registry")
    ticketing = ServiceRpc("ticketing")

    @property
    def policy(self) -> TimeLimitPolicy:
        return self.plugins.time_limits

    def rule(self, name: str) -> VotingRule:
        # A consultation is decided under the rule it was opened with, even one the district offers no more.
        return self.plugins.voting_rule.get(name) or VOTING_RULE.load(name)()

    def deciding_rule(self, row) -> VotingRule:
        """A consultation's rule with the district's local rules for its Art. 278 item (they only add checks)."""
        return WithLocalRules(self.rule(row.rule), self.plugins.local_rules.values(), row.art278_item)

    # -- cases -----------------------------------------------------------------------------------

    @command
    def open_case(self, request: c.OpenCaseRequest) -> c.CaseReply:
        return self._open_case(request)

    def _open_case(self, request: c.OpenCaseRequest) -> c.CaseReply:
        settle_within = (timedelta(days=request.settle_within_days) if request.settle_within_days
                         else self.policy.settle_within(request.category, request.level))
        case_id, created = cases.open_case(self.db, self.district, request, settle_within, utcnow())
        info = cases.case_info(self.db, self.district, case_id)
        if created:
            self.events.emit(c.CaseOpened(district=self.district, case_id=case_id, level=info.level,
                                          scope_id=info.scope_id, category=info.category, source=info.source,
                                          ticket_id=info.ticket_id, settle_by=info.settle_by))
            self._case_gauges()
        return c.CaseReply(case=info, created=created)

    @event_handler("ticketing", DisputeReferred)
    def on_dispute_referred(self, evt: DisputeReferred) -> None:
        """A dispute placed as a ticket (neighbour dispute) opens a case at the ticket's grid or community.

        Idempotent twice over: the inbox drops a redelivered event, and a ticket opens one case at most.
        """
        facts = evt.ticket
        level, scope = ("grid", facts.grid_id) if facts.grid_id else ("community", facts.community_id)
        if scope is None:
            raise ValidationFailed.for_field("ticket.community_id", "a dispute ticket without a place")
        # Ticketing checked who referred it; the case is opened on that event's word (no permit of its own).
        self._open_case(c.OpenCaseRequest(
            request_id=f"ticket-{facts.ticket_id}"[:64], actor=evt.actor.person_id or evt.actor.id, category=facts.category,
            summary=evt.description[:60] or facts.category, description=evt.description,
            parties=[c.Party(kind="person", id=evt.resident_id)], level=level, scope_id=scope,
            source="ticketing", ticket_id=facts.ticket_id, opened_at=facts.submitted_at))

    @event_handler("registry", PersonErased)
    def on_person_erased(self, evt: PersonErased) -> None:
        """A person erased on request (PIPL Art. 47): blank the contact data held about them."""
        if evt.district == self.district:
            erasure.blank_person(self.db, self.district, evt.person_id)

    @query
    def get_case(self, request: c.CaseRequest) -> c.CaseReply:
        case = cases.case_info(self.db, self.district, request.case_id)
        return c.CaseReply(case=access.shown_to(self.authz, request.viewer_id, case))

    @query
    def list_cases(self, request: c.ListCasesRequest) -> c.ListCasesReply:
        listing = cases.list_cases(self.db, self.district, request)
        listing.items = [access.shown_to(self.authz, request.viewer_id, case) for case in listing.items]
        return listing

    @command
    def assign_mediators(self, request: c.AssignMediatorsRequest) -> c.CaseReply:
        row = self._case_for(request)
        cases.require_open(row, "assign mediators")
        within = request.within or row.scope_id
        candidates = []
        for kind in request.kinds:
            found = self.registry.list(kind="role", role=kind, within=within, limit=500)
            candidates.append((kind, [(r.person_id, r.id) for r in found.items]))
        cases.assign_mediators(self.db, self.district, row, candidates, utcnow())
        self._case_gauges()
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    @command
    def schedule_session(self, request: c.ScheduleSessionRequest) -> c.CaseReply:
        row = self._case_for(request)
        cases.schedule_session(self.db, self.district, row, request, utcnow())
        self._case_gauges()
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    @command
    def record_session(self, request: c.RecordSessionRequest) -> c.CaseReply:
        row = self._case_for(request)
        cases.record_session(self.db, self.district, row, request, utcnow())
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    @command
    def conclude_case(self, request: c.ConcludeCaseRequest) -> c.CaseReply:
        row = self._case_for(request)
        state, days = cases.conclude(self.db, self.district, row, request, self.policy, utcnow())
        if days is not None:  # a written agreement is concluded by its last signature instead
            self._concluded(row.id, days)
        self._case_gauges()
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    def _concluded(self, case_id: str, days) -> None:
        info = cases.case_info(self.db, self.district, case_id)
        outcome = info.outcome or {}
        self.events.emit(c.CaseConcluded(district=self.district, case_id=info.id, level=info.level, state=info.state,
                                         ticket_id=info.ticket_id, days_to_conclude=days,
                                         referral=outcome.get("referral"), referred_to=outcome.get("referred_to")))
        self.metrics.histogram("redprop_mediation_time_to_conclude_seconds",
                               "Time from opening a case to its conclusion.", ("level", "state"),
                               buckets=SETTLE_BUCKETS).labels(info.level, info.state).observe(float(days * DAY_SECONDS))

    # -- parties, mediators, agreements (People's Mediation Law Art. 23, 28-30, 33) ---------------

    @command
    def add_party(self, request: c.AddPartyRequest) -> c.CaseReply:
        row = cases.load_case_row(self.db, self.district, request.case_id)
        self._require(row, request.actor, "add a party to")
        agreements.add_party(self.db, self.district, row, request, utcnow())
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    @command
    def answer_mediator(self, request: c.AnswerMediatorRequest) -> c.CaseReply:
        row = cases.load_case_row(self.db, self.district, request.case_id)
        party = agreements.party_of(row, request.actor)
        if request.party_id is not None:
            party = next((p for p in row.parties if p["id"] == request.party_id), None)
            if party is None:
                raise ValidationFailed.for_field("party_id", f"{request.party_id!r} is not a party to the case",
                                                 "not_a_party")
        # Art. 23 is the parties' right: only a party (or whoever acts for it) answers.
        if party is None or request.actor not in (party["id"], party.get("representative_id")):
            raise PermissionDenied("only a party to the case, or its representative, answers about a mediator",
                                   {"field": "actor"})
        chosen = self._mediator_role(request.person_id) if request.answer == "choose" else None
        agreements.answer_mediator(self.db, self.district, row, request, party, chosen, utcnow())
        self._case_gauges()
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    @command
    def sign_agreement(self, request: c.SignAgreementRequest) -> c.CaseReply:
        row = cases.load_case_row(self.db, self.district, request.case_id)
        if agreements.sign(self.db, self.district, row, request, self.policy, utcnow()):
            stored = cases.load_case_row(self.db, self.district, row.id)
            self._concluded(row.id, cases._days(stored.opened_at, stored.concluded_at))
            self._case_gauges()
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    @command
    def refer_case(self, request: c.ReferCaseRequest) -> c.CaseReply:
        row = cases.load_case_row(self.db, self.district, request.case_id)
        agreements.require_referable(row)
        self._require(row, request.actor, "refer", party=False)
        to_level = c.CASE_LADDER[c.CASE_LADDER.index(row.level) + 1]
        above = dict(self._scope_chain(row.level, row.scope_id)[1:])
        if above.get(request.scope_id) != to_level:
            raise ValidationFailed.for_field(
                "scope_id", f"the case goes to the {to_level} above {row.scope_id!r}: one of "
                            f"{', '.join(k for k, v in above.items() if v == to_level) or 'none known'}",
                "not_the_next_level")
        agreements.refer(self.db, self.district, row, request, utcnow())
        self._case_gauges()
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    @command
    def record_court_application(self, request: c.CourtApplicationRequest) -> c.CaseReply:
        row = cases.load_case_row(self.db, self.district, request.case_id)
        self._require(row, request.actor, "record a court application for")
        agreements.apply_to_court(self.db, self.district, row, request, utcnow())
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    @command
    def record_court_ruling(self, request: c.CourtRulingRequest) -> c.CaseReply:
        row = cases.load_case_row(self.db, self.district, request.case_id)
        self._require(row, request.actor, "record a court ruling for")
        agreements.record_ruling(self.db, self.district, row, request, utcnow())
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    def _require(self, row, actor: str, action: str, party: bool = True) -> None:
        """The record-level rule of the case's operations: a party, the case's mediator, or a community
        worker whose post covers the case's scope (asked of the registry only when it has to be)."""
        if party and agreements.party_of(row, actor) is not None:
            return
        if actor in agreements.mediators_of(self.db, self.district, row.id):
            return
        for scope_id, _level in self._scope_chain(row.level, row.scope_id):
            roles = self.registry.list(kind="role", role="community_worker", within=scope_id, limit=500).items
            if any(r.person_id == actor and r.scope_id == scope_id for r in roles):
                return
        who = "a party, the case's mediator" if party else "the case's mediator"
        raise PermissionDenied(f"{actor!r} may not {action} case {row.id!r}: {who} or a community worker of its "
                               "scope may", {"field": "actor"})

    def _scope_chain(self, level: str, scope_id: str) -> list[tuple[str, str]]:
        """[(id, level)] from the case's scope up to the district, from the registry."""
        out = []
        try:
            if level == "grid":
                out.append((scope_id, "grid"))
                scope_id = self.registry.get(kind="grid", id=scope_id).record.community_id
            for _ in range(4):
                if scope_id is None:
                    break
                region = self.registry.get(kind="region", id=scope_id).record
                out.append((region.id, region.level))
                scope_id = region.parent_id
        except NotFound:
            pass  # a scope the registry no longer knows covers nothing above it
        return out

    def _mediator_role(self, person_id: str) -> tuple[str, str]:
        """(kind, role id) of a mediator a party chose: a registry person holding a mediator's role today."""
        for kind in c.MediatorKind.__args__:
            for role in self.registry.list(kind="role", role=kind, limit=5000).items:
                if role.person_id == person_id:
                    return kind, role.id
        raise ValidationFailed.for_field("person_id", f"{person_id!r} holds no mediator's role in the registry",
                                         "not_a_mediator")

    @command
    def record_performance(self, request: c.RecordPerformanceRequest) -> c.CaseReply:
        row = self._case_for(request)
        cases.record_performance(self.db, self.district, row, request, utcnow())
        return c.CaseReply(case=cases.case_info(self.db, self.district, row.id))

    def _case_for(self, request):
        """The case a command acts on, once its actor may act on it (mediation/access.py)."""
        row = cases.load_case_row(self.db, self.district, request.case_id)
        access.require_on_case(self.db, self.authz, request.actor, row)
        return row

    def _matter_for(self, request):
        row = deliberation.load_matter(self.db, self.district, request.matter_id)
        access.require_on_matter(self.authz, request.actor, row)
        return row

    def _consultation_for(self, request):
        row = consultations.load(self.db, self.district, request.consultation_id)
        matter = deliberation.load_matter(self.db, self.district, row.matter_id)
        access.require_on_consultation(self.db, self.authz, request.actor, row, matter)
        return row

    @query
    def statistics(self, request: c.StatisticsRequest) -> c.StatisticsReply:
        return cases.statistics(self.db, self.district, request)

    def _case_gauges(self) -> None:
        gauge = self.metrics.gauge("redprop_mediation_cases", "Dispute cases by state and level.", ("state", "level"))
        counts = cases.state_counts(self.db, self.district)
        for state in ("open", "mediating", "settled", "failed", "withdrawn"):
            for level in cases.LEVELS:
                gauge.labels(state, level).set(counts.get((state, level), 0))

    # -- deliberation ----------------------------------------------------------------------------

    @command
    def open_matter(self, request: c.OpenMatterRequest) -> c.MatterReply:
        matter_id = deliberation.open_matter(self.db, self.district, request, utcnow())
        self.events.emit(c.MatterStageChanged(district=self.district, matter_id=matter_id, stage="research"))
        return c.MatterReply(matter=deliberation.matter_info(self.db, self.district, matter_id))

    @query
    def get_matter(self, request: c.MatterRequest) -> c.MatterReply:
        return c.MatterReply(matter=deliberation.matter_info(self.db, self.district, request.matter_id))

    @query
    def find_matters(self, request: c.FindMattersRequest) -> c.FindMattersReply:
        return deliberation.find_matters(self.db, self.district, request)

    @command
    def advance_matter(self, request: c.AdvanceMatterRequest) -> c.MatterReply:
        self._matter_for(request)
        skipped = deliberation.advance(self.db, self.district, request, utcnow())
        self.events.emit(c.MatterStageChanged(district=self.district, matter_id=request.matter_id,
                                              stage=request.to_stage, skipped=skipped))
        return c.MatterReply(matter=deliberation.matter_info(self.db, self.district, request.matter_id))

    @command
    def record_meeting(self, request: c.RecordMeetingRequest) -> c.MeetingReply:
        if request.matter_id is not None:
            self._matter_for(request)
        meeting_id = deliberation.record_meeting(self.db, self.district, request, utcnow())
        meeting = deliberation.get_meeting(self.db, self.district, meeting_id)
        # Who attended, by id only: participation credits attending (its earning rules).
        self.events.emit(c.MeetingRecorded(district=self.district, meeting_id=meeting.id, matter_id=meeting.matter_id,
                                           kind=meeting.kind, held_at=meeting.held_at,
                                           attendee_ids=list(dict.fromkeys(a.person_id for a in meeting.attendance))))
        return c.MeetingReply(meeting=meeting)

    @query
    def draft_agenda(self, request: c.DraftAgendaRequest) -> c.DraftAgendaReply:
        summary = self.ticketing.monthly_summary(complex_id=request.complex_id, month=request.month)
        return c.DraftAgendaReply(complex_id=request.complex_id, month=request.month, agenda=agenda.draft(summary))

    @query
    def list_meetings(self, request: c.ListMeetingsRequest) -> c.ListMeetingsReply:
        return deliberation.list_meetings(self.db, self.district, request)

    @command
    def record_progress(self, request: c.RecordProgressRequest) -> c.MatterReply:
        self._matter_for(request)
        deliberation.record_progress(self.db, self.district, request, utcnow())
        return c.MatterReply(matter=deliberation.matter_info(self.db, self.district, request.matter_id))

    @command
    def add_material(self, request: c.AddMaterialRequest) -> c.RecordsReply:
        self._matter_for(request)
        deliberation.add_material(self.db, self.district, request, utcnow())
        return verification.records_of(self.db, self.district,
                                       c.RecordsRequest(matter_id=request.matter_id, kind="material"))

    # -- consultations ---------------------------------------------------------------------------

    @query
    def voting_rules(self, request: c.RulesRequest) -> c.RulesReply:
        return c.RulesReply(rules=[c.RuleInfo(name=n, description=self.rule(n).description)
                                   for n in self.plugins.voting_rule])

    @command
    def open_consultation(self, request: c.OpenConsultationRequest) -> c.ConsultationReply:
        # Check what we can before asking the registry, so bad input costs no remote call.
        deliberation.load_matter(self.db, self.district, request.matter_id)
        # Civil Code Art. 278 para. 2: the matter decides the rule; a named rule may only ask more.
        rule = consultations.choose_rule(request.art278_item, request.rule, list(self.plugins.voting_rule), self.rule)
        electorate = self.registry.electorate(complex_id=request.complex_id)
        consultation_id = consultations.open_consultation(self.db, self.district, request, electorate, rule, utcnow())
        return self._consultation_reply(consultation_id)

    @query
    def get_consultation(self, request: c.ConsultationRequest) -> c.ConsultationReply:
        return self._consultation_reply(request.consultation_id)

    def _consultation_reply(self, consultation_id: str) -> c.ConsultationReply:
        row = consultations.load(self.db, self.district, consultation_id)
        return c.ConsultationReply(consultation=consultations.info(self.db, self.district, row,
                                                                   self.policy.publish_within()))

    @command
    def cast_ballot(self, request: c.CastBallotRequest) -> c.BallotReply:
        if request.channel != "online":
            # A paper or meeting ballot is entered by a worker or committee member of the consultation's complex.
            row = consultations.load(self.db, self.district, request.consultation_id)
            if row.complex_id is not None and not self.authz.holds(request.actor, c.BALLOT_CLERKS, within=row.complex_id):
                raise PermissionDenied(f"{request.actor} enters no ballots in complex {row.complex_id!r}: a "
                                       f"{request.channel} ballot is entered by a worker or committee member there",
                                       {"field": "actor", "check": "scope", "roles": list(c.BALLOT_CLERKS)})
        values, previous = consultations.cast_ballot(self.db, self.district, request, utcnow())
        # Who voted and where, never the option: participation credits voting.
        self.events.emit(c.BallotCast(district=self.district, consultation_id=values["consultation_id"],
                                      person_id=values["person_id"] or request.owner_id, cast_at=values["cast_at"]))
        self.metrics.counter("redprop_mediation_ballots", "Ballots cast, by channel and whether one was superseded.",
                             ("channel", "supersedes")).labels(request.channel, str(previous is not None).lower()).inc()
        return c.BallotReply(ballot=consultations.ballot_info({**values, "superseded_by": None}), supersedes=previous)

    @query
    def ballots(self, request: c.BallotsRequest) -> c.BallotsReply:
        return consultations.list_ballots(self.db, self.district, request)

    @query
    def tally(self, request: c.ConsultationRequest) -> c.TallyReply:
        row = consultations.load(self.db, self.district, request.consultation_id)
        result = (c.ConsultationResult.model_validate(row.result) if row.result is not None
                  else consultations.tally(self.db, self.district, row, self.deciding_rule(row)))
        return c.TallyReply(consultation_id=row.id, state=row.state, result=result)

    @command
    def close_consultation(self, request: c.CloseConsultationRequest) -> c.ConsultationReply:
        row = consultations.load(self.db, self.district, request.consultation_id)
        result, seq = consultations.close(self.db, self.district, request, self.deciding_rule(row), utcnow())
        self.events.emit(c.DecisionMade(
            district=self.district, consultation_id=row.id, matter_id=row.matter_id, rule=result.rule,
            passed=result.passed, participation_by_area=result.participation_by_area.ratio,
            participation_by_headcount=result.participation_by_headcount.ratio, record_seq=seq))
        participation = self.metrics.histogram(
            "redprop_mediation_consultation_participation_ratio",
            "Participation of closed consultations (0..1), by area and by headcount.", ("basis",),
            buckets=RATIO_BUCKETS)
        participation.labels("area").observe(float(result.participation_by_area.percent / Decimal(100)))
        participation.labels("headcount").observe(float(result.participation_by_headcount.percent / Decimal(100)))
        self.metrics.counter("redprop_mediation_decisions", "Consultations decided, by rule and outcome.",
                             ("rule", "passed")).labels(result.rule, str(result.passed).lower()).inc()
        return self._consultation_reply(row.id)

    @command
    def publish_result(self, request: c.PublishResultRequest) -> c.ConsultationReply:
        self._consultation_for(request)
        consultations.publish(self.db, self.district, request, utcnow())
        return self._consultation_reply(request.consultation_id)

    # -- time limits -----------------------------------------------------------------------------

    @query
    def due_reminders(self, request: c.RemindersRequest) -> c.RemindersReply:
        return c.RemindersReply(reminders=reminders.due(self.db, self.district, self.policy,
                                                        request.as_of or utcnow()))

    @command
    def send_reminders(self, request: c.SendRemindersRequest) -> c.SendRemindersReply:
        return c.SendRemindersReply(sent=self._send_reminders(request.as_of or utcnow()))

    @timer(interval=REMINDER_INTERVAL)
    def remind(self) -> None:
        """On its own, every few minutes: emit reminders that have come due."""
        self._send_reminders(utcnow())
        self._case_gauges()

    def _send_reminders(self, as_of) -> list[c.Reminder]:
        due = reminders.due(self.db, self.district, self.policy, as_of)
        fresh = reminders.claim_unsent(self.db, self.district, due, utcnow())
        for reminder in fresh:
            self.events.emit(c.ReminderDue(district=self.district, reminder=reminder))
        return fresh

    # -- the record log --------------------------------------------------------------------------

    @query
    def records(self, request: c.RecordsRequest) -> c.RecordsReply:
        return verification.records_of(self.db, self.district, request)

    @query
    def verify(self, request: c.VerifyRequest) -> c.VerifyReply:
        return verification.verify(self.db, self.district, request)



