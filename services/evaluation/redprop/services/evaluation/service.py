"""The evaluation service: entrypoints only; the work is in kpis, scorecards, ratings and league, and for
the city release (``options.role: city``) in city."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from redprop.clock import utcnow
from redprop.contracts import evaluation as c
from redprop.contracts import participation as pt
from redprop.contracts import projects as pj
from redprop.contracts import ticketing as t
from redprop.db import Database
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.messaging import EventOutbox, ServiceRpc, command, event_handler, query, role_handler
from redprop.messaging.batches import batch_event_handler
from redprop.service import RedpropService
from redprop.services.evaluation import (
    actors,
    city,
    community,
    kpis,
    league,
    ratings,
    scorecards,
    summary,
)
from redprop.services.evaluation import models as m
from redprop.services.evaluation.options import EvaluationOptions
from redprop.services.evaluation.periods import CHINA, bounds, last_n, period_of
from redprop.services.evaluation.rubrics import RUBRIC, STAR_BANDS

MIGRATIONS = Path(__file__).parent / "migrations"
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400)


class EvaluationService(RedpropService):
    name = "evaluation"
    contract = c.CONTRACT
    extension_points = (RUBRIC,)
    options_model = EvaluationOptions

    db = Database(m.metadata, migrations=MIGRATIONS)
    events = EventOutbox()
    registry = ServiceRpc("registry")
    # -- KPIs from ticketing ---------------------------------------------------------------------

    def _ingest(self, events: list[t.TicketEvent]) -> None:
        results = kpis.ingest_many(self.db, self.district, events)
        counted = self.metrics.counter("redprop_evaluation_kpi_events", "Ticket events ingested; stale ones change "
                                       "nothing.", ("event_type", "outcome"))
        lag = self.metrics.histogram("redprop_evaluation_kpi_lag_seconds", "From a ticket event to its KPIs.",
                                     buckets=LAG_BUCKETS)
        now = utcnow()
        for evt, result in zip(events, results, strict=True):
            counted.labels(evt.event_type, "applied" if result.applied else "stale").inc()
            lag.observe(max((now - evt.occurred_at).total_seconds(), 0.0))
        self.metrics.gauge("redprop_evaluation_kpi_last_event_timestamp_seconds",
                           "When the newest ticket event counted in the KPIs happened (freshness).").set(
            max(evt.occurred_at for evt in events).timestamp())

    @batch_event_handler("ticketing", t.TicketCreated, t.TicketDispatched, t.TicketAccepted, t.TicketRejected,
                         t.TicketEscalated, t.TicketResolved, t.TicketRated, t.TicketReopened, t.TicketClosed,
                         t.TicketCancelled, t.SlaBreached)
    def on_ticket_event(self, events: list[t.TicketEvent]) -> None:
        """Every change of a ticket moves its KPIs; one queue takes them all, in the order they come, and
        the events that arrive together are counted in one transaction (``messaging/batches.py``)."""
        self._ingest(events)

    # -- community evidence from participation and projects (community.py) -----------------------

    def _evidence(self, source: str, company_id: str, kind: str, ref_id: str, title: str, at, hours=0) -> None:
        if community.record(self.db, self.district, source, company_id, kind, ref_id, title, at, hours):
            self.metrics.counter("redprop_evaluation_community_evidence", "Turns, paired-unit tasks and project "
                                 "milestones kept as evidence.", ("kind",)).labels(kind).inc()

    @event_handler("participation", pt.TurnRecorded, pt.TaskDone)
    def on_participation(self, evt: pt.TurnRecorded | pt.TaskDone) -> None:
        """A unit's staff turn and a unit's task done count for the unit: for a property company, evidence of
        team building and social image (units that are not companies are never asked for)."""
        if isinstance(evt, pt.TurnRecorded):
            turn = evt.turn
            if turn.role == "unit_staff" and turn.unit_id is not None:
                self._evidence(f"turn:{turn.id}", turn.unit_id, "turn", turn.id,
                               f"turn in {turn.community_id} ({turn.person_id})", turn.at, turn.hours)
        elif evt.task.assignee_kind == "unit" and evt.task.state == "done":
            task = evt.task
            self._evidence(f"task:{task.id}", task.assignee_id, "task", task.id, task.title,
                           task.done_at or evt.occurred_at, task.hours)

    @event_handler("projects", pj.ProjectChanged)
    def on_project_changed(self, evt: pj.ProjectChanged) -> None:
        """A milestone reached by a project in a complex a company manages: the company's part in it."""
        if evt.change != "milestone_reached" or not evt.milestone:
            return
        companies = set()
        for complex_id in evt.complex_ids:
            try:
                company_id = actors.complex_record(self.registry, complex_id).property_company_id
            except NotFound:
                continue  # a complex the registry no longer knows: no company to credit
            if company_id is not None:
                companies.add(company_id)
        for company_id in sorted(companies):
            self._evidence(f"milestone:{evt.project_id}:{evt.milestone}:{company_id}", company_id, "milestone",
                           evt.project_id, evt.milestone, evt.occurred_at)

    @query
    def kpis(self, request: c.KpiRequest) -> c.KpiReply:
        rows, last = kpis.kpi_rows(self.db, self.district, request.scope, request.id, request.periods)
        return c.KpiReply(rows=rows, last_event_at=last)

    @query
    def kpi_ticket(self, request: c.KpiTicketRequest) -> c.KpiTicketReply:
        row = kpis.ticket_state(self.db, self.district, request.ticket_id)
        if row is None or row.status == "unknown":
            raise NotFound.entity("ticket", request.ticket_id, "ticket_id")
        return c.KpiTicketReply(ticket=c.KpiTicket(
            ticket_id=row.ticket_id, company_id=row.company_id, complex_id=row.complex_id, period=row.period,
            status=row.status, counted=bool(row.tickets), responded_on_time=bool(row.responded_on_time),
            resolved=bool(row.resolved), resolved_on_time=bool(row.resolved_on_time), rating=row.rating,
            reopened=bool(row.reopened), events_seen=row.events_seen, last_event_at=row.last_event_at))

    # -- rubric ----------------------------------------------------------------------------------

    @query
    def rubric(self, request: c.RubricRequest) -> c.RubricInfo:
        r = self.plugins.rubric
        return c.RubricInfo(
            name=r.name, title=r.title, version=r.version,
            aspects=[c.RubricAspect(code=a.code, title=a.title, points=a.points) for a in r.aspects],
            items=[c.RubricItem(code=i.code, aspect=i.aspect, title=i.title, max_points=i.max_points, source=i.source,
                                bonus=i.bonus) for i in r.items],
            bonus_cap=r.bonus_cap, grades=[c.Band(label=g, min_total=v) for g, v in r.grades],
            stars=[c.Band(label=f"{s} stars", min_total=v) for s, v in STAR_BANDS])

    # -- scorecards ------------------------------------------------------------------------------

    def _members(self, committee_id: str, complex_id: str) -> set[str]:
        return actors.committee_members(self.registry, committee_id, complex_id)

    def _scorecard_reply(self, scorecard_id: str) -> c.ScorecardReply:
        row = scorecards.load(self.db, self.district, scorecard_id)
        return c.ScorecardReply(scorecard=scorecards.view(self.db, self.district, row, utcnow(),
                                                          self.options.scorecard_grace_days))

    @command
    def submit_scorecard(self, request: c.SubmitScorecardRequest) -> c.ScorecardReply:
        now, grace = utcnow(), self.options.scorecard_grace_days
        scorecards.check_period_open(self.db, self.district, request.period, now, grace)  # before any RPC
        complex_ = actors.complex_record(self.registry, request.complex_id)
        if complex_.property_company_id is None:
            raise NotFound(f"complex {request.complex_id} has no property company to score",
                           {"entity": "property_company", "field": "complex_id"})
        actors.check_committee(self.registry, request.committee_id, request.complex_id)
        company = actors.organisation(self.registry, complex_.property_company_id, "complex_id")
        kpis.remember_name(self.db, self.district, company.id, "company", company.name)
        kpis.remember_name(self.db, self.district, complex_.id, "complex", complex_.name)
        scorecard_id = scorecards.submit(
            self.db, self.district, request, company.id, self._members(request.committee_id, request.complex_id),
            self.plugins.rubric, now, grace)
        self.metrics.counter("redprop_evaluation_scorecards_submitted", "Committee scorecards submitted.").inc()
        return self._scorecard_reply(scorecard_id)

    @command
    def sign_scorecard(self, request: c.SignScorecardRequest) -> c.ScorecardReply:
        row = scorecards.load(self.db, self.district, request.scorecard_id, for_update=True)
        scorecards.sign(self.db, self.district, row, request.person_id, request.version,
                        self._members(row.committee_id, row.complex_id), utcnow(),
                        self.options.scorecard_grace_days)
        return self._scorecard_reply(row.id)

    @command
    def correct_scorecard(self, request: c.CorrectScorecardRequest) -> c.ScorecardReply:
        row = scorecards.load(self.db, self.district, request.scorecard_id, for_update=True)
        scorecards.correct(self.db, self.district, row, request, self._members(row.committee_id, row.complex_id),
                           self.plugins.rubric, utcnow())
        return self._scorecard_reply(row.id)

    @query
    def get_scorecard(self, request: c.GetScorecardRequest) -> c.ScorecardReply:
        return self._scorecard_reply(request.scorecard_id)

    @query
    def list_scorecards(self, request: c.ListScorecardsRequest) -> c.ScorecardList:
        rows, total = scorecards.list_rows(self.db, self.district, request)
        now, grace = utcnow(), self.options.scorecard_grace_days
        return c.ScorecardList(scorecards=[scorecards.view(self.db, self.district, r, now, grace) for r in rows],
                               total=total)

    @command
    def close_period(self, request: c.ClosePeriodRequest) -> c.PeriodReply:
        now = utcnow()
        if now < bounds(request.period)[0]:
            raise ValidationFailed.for_field("period", f"{request.period} has not started yet")
        lock = scorecards.locked_at(self.db, self.district, request.period, self.options.scorecard_grace_days)
        if now >= lock:
            raise Conflict(f"{request.period} is already closed", {"field": "period"})
        actors.organisation(self.registry, request.closed_by, "closed_by")
        standings = league.standings(self.db, self.district, self.plugins.rubric, [request.period])[request.period]
        stars = ratings.active_stars(self.db, self.district, now.astimezone(CHINA).date())
        for s in standings:
            s.stars = stars.get(s.company_id)
        self.db.execute(m.periods.insert().values(
            district=self.district, period=request.period, closed_at=now, closed_by=request.closed_by,
            standings=[s.model_dump(mode="json") for s in standings]))
        locked = len(scorecards.list_rows(self.db, self.district, c.ListScorecardsRequest(period=request.period))[0])
        rubric = self.plugins.rubric
        self.events.emit(c.PeriodClosed(district=self.district, period=request.period, rubric=rubric.name,
                                        rubric_version=rubric.version, standings=standings))
        return c.PeriodReply(period=request.period, closed_at=now, closed_by=request.closed_by,
                             locked_scorecards=locked, standings=standings)

    # -- scores and league tables ----------------------------------------------------------------

    @query
    def company_score(self, request: c.CompanyScoreRequest) -> c.CompanyScoreReply:
        index, points, maximum, explanation = league.company_score(
            self.db, self.district, self.plugins.rubric, request.company_id, request.period)
        return c.CompanyScoreReply(company_id=request.company_id, period=request.period, index=index,
                                   evidence_points=points, evidence_max=maximum, explanation=explanation)

    @query
    def league_table(self, request: c.LeagueTableRequest) -> c.LeagueTableReply:
        now = utcnow()
        until = request.until or period_of(now)
        return league.table(self.db, self.district, self.plugins.rubric, last_n(until, request.periods),
                            ratings.active_stars(self.db, self.district, now.astimezone(CHINA).date()), request.limit)

    # -- the city league table (options.role: city) -----------------------------------------------

    # The districts' ``evaluation.events`` exchanges are federated into the city vhost.
    @role_handler("city", "evaluation", c.PeriodClosed)
    def on_district_period_closed(self, evt: c.PeriodClosed) -> None:
        stored = city.keep(self.db, self.district, evt)
        self.metrics.counter("redprop_evaluation_city_standings_events", "Districts' period_closed events received "
                             "by the city; stale ones (duplicates, older) change nothing.",
                             ("outcome",)).labels("stored" if stored else "stale").inc()
        if stored:
            self.metrics.gauge("redprop_evaluation_city_districts", "Districts whose standings the city keeps.").set(
                city.districts_kept(self.db))

    @query
    def city_league_table(self, request: c.CityLeagueTableRequest) -> c.CityLeagueTableReply:
        self._require_role("city", "city_league_table")
        return city.table(self.db, self.district, request)

    def _require_role(self, role: str, operation: str) -> None:
        if self.options.role != role:
            raise Conflict(f"{operation} runs only where services.evaluation.options.role is {role!r}; "
                           f"this instance is {self.options.role!r}", {"role": self.options.role})

    @query
    def district_summary(self, request: c.DistrictSummaryRequest) -> c.DistrictSummaryReply:
        now = utcnow()
        periods = last_n(request.until or period_of(now), request.periods)
        return summary.summary(self.db, self.district, periods, now.astimezone(CHINA).date())

    # -- the star rating -------------------------------------------------------------------------

    def _rating_reply(self, rating_id: str) -> c.RatingReply:
        row = ratings.load(self.db, self.district, rating_id)
        return c.RatingReply(rating=ratings.view(self.db, self.district, row, utcnow().astimezone(CHINA).date()))

    @command
    def apply(self, request: c.ApplyRequest) -> c.RatingReply:
        company = actors.property_company(self.registry, request.company_id)
        actors.check_applicant(self.authz, request.actor, request.company_id)
        kpis.remember_name(self.db, self.district, company.id, "company", company.name)
        rating_id = ratings.apply(self.db, self.district, self.plugins.rubric, request, utcnow(),
                                  self.options.negative_event_lookback_days)
        return self._rating_reply(rating_id)

    @command
    def review(self, request: c.ReviewRequest) -> c.RatingReply:
        row = ratings.load(self.db, self.district, request.rating_id, for_update=True)
        actors.check_reviewer(self.registry, self.authz, request.actor, row.company_id)
        ratings.review(self.db, self.district, self.plugins.rubric, row, request, utcnow())
        return self._rating_reply(row.id)

    @command
    def certify(self, request: c.CertifyRequest) -> c.RatingReply:
        row = ratings.load(self.db, self.district, request.rating_id, for_update=True)
        actors.check_certifier(self.registry, self.authz, request.actor, row.company_id)
        explanation = ratings.certify(self.db, self.district, self.plugins.rubric, row, request, utcnow(),
                                      self.options.certificate_validity_years)
        reply = self._rating_reply(row.id)
        cert = reply.rating.certificate
        if cert is not None:
            self.events.emit(c.RatingIssued(district=self.district, rating_id=row.id, company_id=row.company_id,
                                            stars=cert.stars, total=explanation.total, valid_until=cert.valid_until,
                                            rubric=row.rubric))
            self.metrics.counter("redprop_evaluation_ratings_issued", "Star certificates issued.",
                                 ("stars",)).labels(str(cert.stars)).inc()
        return reply

    @command
    def annual_review(self, request: c.AnnualReviewRequest) -> c.RatingReply:
        row = ratings.load(self.db, self.district, request.rating_id, for_update=True)
        actors.check_certifier(self.registry, self.authz, request.actor, row.company_id, "review")
        change, stars, explanation = ratings.annual_review(self.db, self.district, self.plugins.rubric, row, request,
                                                           utcnow())
        self.events.emit(c.RatingChanged(district=self.district, rating_id=row.id, company_id=row.company_id,
                                         change=change, from_stars=row.cert_stars, to_stars=stars,
                                         reason=f"annual review {request.year}: total {explanation.total}"))
        self._count_change(change)
        return self._rating_reply(row.id)

    def _count_change(self, change: str) -> None:
        self.metrics.counter("redprop_evaluation_rating_changes", "Certificates confirmed, re-rated, downgraded "
                             "or revoked.", ("change",)).labels(change).inc()

    @command
    def record_negative_event(self, request: c.NegativeEventRequest) -> c.NegativeEventReply:
        actors.property_company(self.registry, request.company_id)
        actors.check_not_self(self.authz, request.reported_by, request.company_id, "report on", "reported_by")
        actors.organisation(self.registry, request.reported_by.organisation_id, "reported_by.organisation_id")
        event, voided, revoked = ratings.record_negative_event(self.db, self.district, request, utcnow())
        self.events.emit(c.NegativeEventRecorded(district=self.district, company_id=request.company_id,
                                                 kind=request.kind, occurred_on=request.occurred_on))
        for rating_id, stars in revoked:
            self.events.emit(c.RatingChanged(district=self.district, rating_id=rating_id,
                                             company_id=request.company_id, change="revoked", from_stars=stars,
                                             to_stars=None, reason=f"negative event {event.id}: {request.kind}"))
            self._count_change("revoked")
        return c.NegativeEventReply(event=event, voided_ratings=[r for r, _ in voided],
                                    revoked_ratings=[r for r, _ in revoked])

    @query
    def get_rating(self, request: c.GetRatingRequest) -> c.RatingReply:
        return self._rating_reply(request.rating_id)

    @query
    def list_ratings(self, request: c.ListRatingsRequest) -> c.RatingList:
        r = m.ratings
        query_ = select(r).where(r.c.district == self.district)
        if request.company_id is not None:
            query_ = query_.where(r.c.company_id == request.company_id)
        if request.state is not None:
            query_ = query_.where(r.c.state == request.state)
        total = self.db.execute(select(func.count()).select_from(query_.subquery())).scalar_one()
        today = utcnow().astimezone(CHINA).date()
        rows = self.db.execute(query_.order_by(r.c.created_at.desc(), r.c.id).limit(request.limit)
                               .offset(request.offset)).all()
        return c.RatingList(ratings=[ratings.view(self.db, self.district, row, today) for row in rows], total=total)

    @query
    def explain(self, request: c.ExplainRequest) -> c.ExplainReply:
        seq, step, explanation = ratings.explanation_of(self.db, self.district, request.rating_id, request.seq)
        return c.ExplainReply(rating_id=request.rating_id, seq=seq, step=step, explanation=explanation)
