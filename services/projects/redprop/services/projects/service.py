"""The projects service: entrypoints only; the work is in funds, approvals, projects, rollup and csvimport."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from redprop.clock import utcnow
from redprop.contracts import projects as c
from redprop.db import Database
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.messaging import EventOutbox, ServiceRpc, command, query
from redprop.service import RedpropService
from redprop.services.projects import actors, approvals, csvimport, funds, views
from redprop.services.projects import models as m
from redprop.services.projects import projects as work
from redprop.services.projects.options import ProjectsOptions
from redprop.services.projects.rollup import Tree

MIGRATIONS = Path(__file__).parent / "migrations"


class ProjectsService(RedpropService):
    name = "projects"
    contract = c.CONTRACT
    options_model = ProjectsOptions

    db = Database(m.metadata, migrations=MIGRATIONS)
    events = EventOutbox()
    registry = ServiceRpc("registry")
    mediation = ServiceRpc("mediation")
    ticketing = ServiceRpc("ticketing")

    # -- funds -----------------------------------------------------------------------------------

    def _fund_reply(self, fund_id: str, movement_id: str | None = None):
        fund = views.fund(self.db, funds.load(self.db, self.district, fund_id))
        if movement_id is None:
            return c.FundReply(fund=fund)
        return c.DrawReply(fund=fund, movement=views.movement(self.db, funds.load_movement(
            self.db, self.district, movement_id)))

    def _moved(self, reply: c.DrawReply) -> c.DrawReply:
        mv = reply.movement
        self.events.emit(c.FundMoved(district=self.district, fund_id=mv.fund_id, fund_kind=reply.fund.kind,
                                     movement_id=mv.id, kind=mv.kind, status=mv.status, amount=mv.amount,
                                     balance_after=mv.balance_after, serves=mv.serves))
        self.metrics.counter("redprop_projects_fund_movements", "Movements of money by kind and outcome.",
                             ("kind", "status")).labels(mv.kind, mv.status or "-").inc()
        return reply

    def _covering(self, actor: str, roles, fund, doing: str) -> None:
        place = actors.Place(fund.id, fund.complex_id, fund.community_id, fund.subdistrict_id,
                             funds.chain_of(fund, self.district))
        actors.require(self.registry, actor, tuple(roles), place, doing)

    @command
    def create_fund(self, request: c.CreateFundRequest) -> c.FundReply:
        place = actors.place_of(self.registry, request.scope_id, "scope_id")
        actors.require(self.registry, request.actor, c.OFFICERS, place, "open a fund there")
        funds.create(self.db, self.district, request, place, utcnow())
        return self._fund_reply(request.id)

    @command
    def allocate(self, request: c.AllocateRequest) -> c.DrawReply:
        fund = funds.load(self.db, self.district, request.fund_id)
        self._covering(request.actor, c.OFFICERS, fund, "allocate to this fund")
        movement_id = funds.allocate(self.db, self.district, fund.id, request.year, request.amount, request.purpose,
                                     request.actor, utcnow())
        return self._moved(self._fund_reply(fund.id, movement_id))

    def _draw(self, fund, amount: int, serves: c.Serves, purpose: str, actor: str, year: int | None,
              emergency: bool = False, decision_id: str | None = None) -> c.DrawReply:
        held, basis = approvals.rule_for(fund.kind, amount, self.options.approval_above_fen, emergency, decision_id)
        now = utcnow()
        movement_id = funds.draw(self.db, self.district, fund, amount, held=held, serves=serves, purpose=purpose,
                                 actor=actor, year=year or now.year, now=now, legal_basis=basis)
        return self._moved(self._fund_reply(fund.id, movement_id))

    @command
    def draw(self, request: c.DrawRequest) -> c.DrawReply:
        fund = funds.load(self.db, self.district, request.fund_id)
        self._covering(request.actor, c.RECORDERS, fund, "draw from this fund")
        if request.serves.kind == "project":
            work.load(self.db, self.district, request.serves.id, "serves.id")
        if request.decision_id is not None and not request.emergency:
            self._check_decision(request.decision_id, fund)
        return self._draw(fund, request.amount, request.serves, request.purpose, request.actor, request.year,
                          request.emergency, None if request.emergency else request.decision_id)

    def _check_decision(self, consultation_id: str, fund) -> None:
        """The owners decided to use the maintenance fund (Art. 278 para. 1 (5)): a passed consultation."""
        try:
            consultation = self.mediation.get_consultation(consultation_id=consultation_id).consultation
        except NotFound:
            raise NotFound.entity("consultation", consultation_id, "decision_id") from None
        if consultation.result is None or not consultation.result.passed:
            raise ValidationFailed.for_field("decision_id", f"consultation {consultation_id} has not passed",
                                             "not_passed")

    @command
    def draw_for_ticket(self, request: c.DrawForTicketRequest) -> c.DrawReply:
        fund = funds.emergency_fund_of(self.db, self.district, request.complex_id)
        return self._draw(fund, request.amount, c.Serves(kind="ticket", id=request.ticket_id), request.purpose,
                          request.actor, None)

    def _decide(self, request: c.DecideDrawRequest, paid: bool) -> c.DrawReply:
        mv = funds.load_movement(self.db, self.district, request.movement_id)
        if mv.status != "pending_approval":
            raise Conflict(f"draw {mv.id} is {mv.status}, not awaiting approval", {"field": "movement_id"})
        fund = funds.load(self.db, self.district, mv.fund_id)
        self._covering(request.actor, (approvals.LEVEL_ROLE[request.level],), fund,
                       f"{'approve' if paid else 'refuse'} at the {request.level} level")
        now = utcnow()
        if paid:
            left = approvals.record(self.db, self.district, mv.id, request.level, request.actor, request.note, now)
            if left:
                return self._fund_reply(fund.id, mv.id)
            funds.settle_hold(self.db, self.district, mv, True, request.actor, now)
            return self._moved(self._fund_reply(fund.id, mv.id))
        release = funds.settle_hold(self.db, self.district, mv, False, request.actor, now)
        self._moved(self._fund_reply(fund.id, mv.id))
        return self._moved(self._fund_reply(fund.id, release))

    @command
    def approve_draw(self, request: c.DecideDrawRequest) -> c.DrawReply:
        return self._decide(request, paid=True)

    @command
    def refuse_draw(self, request: c.DecideDrawRequest) -> c.DrawReply:
        return self._decide(request, paid=False)

    @query
    def get_fund(self, request: c.GetFundRequest) -> c.FundReply:
        return self._fund_reply(request.fund_id)

    @query
    def list_funds(self, request: c.ListFundsRequest) -> c.FundList:
        f = m.funds.c
        q = select(m.funds).where(f.district == self.district)
        for name in ("scope_id", "complex_id", "kind"):
            if getattr(request, name) is not None:
                q = q.where(getattr(f, name) == getattr(request, name))
        total = self.db.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        rows = self.db.execute(q.order_by(f.id).limit(request.limit).offset(request.offset)).all()
        return c.FundList(funds=[views.fund(self.db, r) for r in rows], total=total)

    @query
    def ledger(self, request: c.LedgerRequest) -> c.LedgerReply:
        v = m.movements.c
        q = select(m.movements).where(v.district == self.district)
        for name, column in (("fund_id", v.fund_id), ("serves_kind", v.serves_kind), ("serves_id", v.serves_id),
                             ("status", v.status)):
            if getattr(request, name) is not None:
                q = q.where(column == getattr(request, name))
        total = self.db.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        rows = self.db.execute(q.order_by(v.at.desc(), v.id).limit(request.limit).offset(request.offset)).all()
        return c.LedgerReply(movements=[views.movement(self.db, r) for r in rows], total=total)

    # -- programmes ------------------------------------------------------------------------------

    @command
    def create_programme(self, request: c.CreateProgrammeRequest) -> c.ProgrammeReply:
        place = actors.region_place(self.registry, request.scope_id, "scope_id")
        actors.require(self.registry, request.actor, c.OFFICERS, place, "plan a programme there")
        g = m.programmes.c
        if self.db.execute(select(g.id).where(g.district == self.district, g.id == request.id)).first():
            raise Conflict(f"programme {request.id} exists", {"field": "id"})
        self.db.execute(m.programmes.insert().values(
            district=self.district, id=request.id, name=request.name, scope_id=request.scope_id,
            start_year=request.start_year, end_year=request.end_year, created_at=utcnow()))
        return self._programme_reply(request.id)

    def _programme_reply(self, programme_id: str) -> c.ProgrammeReply:
        row = work.load_programme(self.db, self.district, programme_id)
        return c.ProgrammeReply(programme=self._programme(row, Tree(self.db, self.district)))

    @staticmethod
    def _programme(row, tree: Tree) -> c.Programme:
        progress, budget, spent, count = tree.programme(row.id)
        return c.Programme(district=row.district, id=row.id, name=row.name, scope_id=row.scope_id,
                           start_year=row.start_year, end_year=row.end_year, budget=budget, spent=spent,
                           progress=progress, projects=count)

    @query
    def list_programmes(self, request: c.ListProgrammesRequest) -> c.ProgrammeList:
        g = m.programmes.c
        q = select(m.programmes).where(g.district == self.district)
        if request.scope_id is not None:
            q = q.where(g.scope_id == request.scope_id)
        total = self.db.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        rows = self.db.execute(q.order_by(g.start_year, g.id).limit(request.limit).offset(request.offset)).all()
        tree = Tree(self.db, self.district)  # one roll-up for all of them
        return c.ProgrammeList(programmes=[self._programme(r, tree) for r in rows], total=total)

    @query
    def get_programme(self, request: c.ProgrammeRequest) -> c.ProgrammeReply:
        return self._programme_reply(request.programme_id)

    # -- projects --------------------------------------------------------------------------------

    def _project_reply(self, project_id: str) -> c.ProjectReply:
        row = work.load(self.db, self.district, project_id)
        return c.ProjectReply(project=views.project(self.db, row, Tree(self.db, self.district),
                                                    self.options.hearing_above_fen))

    def _changed(self, reply: c.ProjectReply, change: str, milestone: str | None = None) -> c.ProjectReply:
        p = reply.project
        self.events.emit(c.ProjectChanged(district=self.district, project_id=p.id, complex_ids=p.complex_ids,
                                          change=change, status=p.status, progress=p.progress,
                                          milestone=milestone))
        return reply

    def _places(self, complex_ids: list[str], field: str = "complex_ids") -> list[actors.Place]:
        return [actors.complex_place(self.registry, cx, f"{field}.{n}") for n, cx in enumerate(complex_ids)]

    def _require_covering_all(self, actor: str, roles, complex_ids: list[str], doing: str) -> None:
        for place in self._places(complex_ids):
            actors.require(self.registry, actor, tuple(roles), place, doing)

    def _check_funds(self, lines) -> None:
        for n, line in enumerate(lines):
            funds.load(self.db, self.district, line.fund_id, f"budget_lines.{n}.fund_id")

    def _checked_link(self, link: c.ProjectLink, complex_ids: list[str], field: str) -> c.ProjectLink:
        """A link is checked at its source: the ticket in ticketing, the matter or consultation in mediation."""
        try:
            if link.kind == "ticket":
                ticket = self.ticketing.get(ticket_id=link.id).ticket
                title, where = ticket.category, ticket.complex_id
            elif link.kind == "matter":
                matter = self.mediation.get_matter(matter_id=link.id).matter
                title, where = matter.title, matter.complex_id
            else:
                consultation = self.mediation.get_consultation(consultation_id=link.id).consultation
                title = consultation.question[:200]
                where = self.mediation.get_matter(matter_id=consultation.matter_id).matter.complex_id
        except NotFound:
            raise NotFound.entity(link.kind, link.id, f"{field}.id") from None
        if where is not None and where not in complex_ids:
            raise ValidationFailed.for_field(f"{field}.id", f"{link.kind} {link.id} is about complex {where}, "
                                             "not one of the project's", "other_complex")
        return c.ProjectLink(kind=link.kind, id=link.id, title=title)

    @command
    def create_project(self, request: c.CreateProjectRequest) -> c.ProjectReply:
        self._require_covering_all(request.actor, c.OFFICERS, request.complex_ids, "plan a project there")
        self._check_funds(request.budget_lines)
        checked = [self._checked_link(link, request.complex_ids, f"links.{n}") for n, link in enumerate(request.links)]
        work.create(self.db, self.district, request.model_copy(update={"links": checked}), utcnow())
        return self._changed(self._project_reply(request.id), "created")

    def _recordable(self, project_id: str, actor: str, doing: str):
        row = work.load(self.db, self.district, project_id, for_update=True)
        self._require_covering_all(actor, c.RECORDERS, work.complexes_of(self.db, self.district, row.id), doing)
        return row

    @command
    def add_milestone(self, request: c.AddMilestoneRequest) -> c.ProjectReply:
        row = self._recordable(request.project_id, request.actor, "add a milestone")
        work.add_milestone(self.db, self.district, row, request.title, request.due_on, request.actor, utcnow())
        return self._changed(self._project_reply(row.id), "milestone_added", request.title)

    @command
    def record_progress(self, request: c.RecordProgressRequest) -> c.ProjectReply:
        row = self._recordable(request.project_id, request.actor, "record its progress")
        tree = Tree(self.db, self.district)
        done = work.record_progress(self.db, self.district, row, bool(tree.children(row.id)), request.percent,
                                    request.milestones_done, request.note, request.actor, utcnow())
        reply = self._project_reply(row.id)
        for title in done:
            self._changed(reply, "milestone_reached", title)
        return self._changed(reply, "progress")

    @command
    def set_status(self, request: c.SetStatusRequest) -> c.ProjectReply:
        row = self._recordable(request.project_id, request.actor, "change its status")
        tree = Tree(self.db, self.district)
        if request.status == "in_progress" and row.status == "planned" \
                and tree.budget(row.id) > self.options.hearing_above_fen:
            self._require_hearing(row.id, tree.budget(row.id))
        work.set_status(self.db, self.district, row, request.status, tree.progress(row.id), request.actor,
                        request.note, utcnow())
        return self._changed(self._project_reply(row.id), "status")

    def _require_hearing(self, project_id: str, budget: int) -> None:
        """事前听证: a hearing meeting of a linked matter, recorded and verified in mediation."""
        for link in work.linked(self.db, self.district, project_id, "matter"):
            matter = self.mediation.get_matter(matter_id=link.ref_id).matter
            if any(meeting.kind == "hearing" and meeting.held_at <= utcnow() for meeting in matter.meetings):
                if not self.mediation.verify(matter_id=matter.id).ok:
                    raise Conflict(f"the records of matter {matter.id} do not verify; its hearing cannot be relied on",
                                   {"field": "status", "matter_id": matter.id})
                return
        raise Conflict(f"project {project_id} has a budget of {budget} fen, above the "
                       f"{self.options.hearing_above} yuan that needs a hearing first (事前听证): link a mediation "
                       "matter whose hearing meeting is recorded", {"field": "status"})

    @command
    def link(self, request: c.LinkRequest) -> c.ProjectReply:
        row = self._recordable(request.project_id, request.actor, "link to it")
        complexes = work.complexes_of(self.db, self.district, row.id)
        link = self._checked_link(request.link, complexes, "link")
        if work.add_link(self.db, self.district, row.id, link.kind, link.id, link.title):
            work.note(self.db, self.district, row.id, request.actor, "linked", utcnow(), kind=link.kind, id=link.id)
        return self._project_reply(row.id)

    @command
    def record_post_evaluation(self, request: c.PostEvaluationRequest) -> c.ProjectReply:
        row = self._recordable(request.project_id, request.actor, "record its post-evaluation")
        if request.matter_id not in {x.ref_id for x in work.linked(self.db, self.district, row.id, "matter")}:
            raise ValidationFailed.for_field("matter_id", f"matter {request.matter_id} is not linked to project "
                                             f"{row.id}", "not_linked")
        matter = self.mediation.get_matter(matter_id=request.matter_id).matter
        meeting = next((x for x in matter.meetings if x.id == request.meeting_id), None)
        if meeting is None:
            raise NotFound.entity("meeting", request.meeting_id, "meeting_id")
        began = work.started_at(self.db, self.district, row.id)
        if began is None or meeting.held_at < began:
            raise ValidationFailed.for_field("meeting_id", f"meeting {meeting.id} was held before the work began; "
                                             "the evaluation comes after (事后评议)", "before_work")
        if not self.mediation.verify(matter_id=matter.id).ok:
            raise Conflict(f"the records of matter {matter.id} do not verify", {"field": "matter_id"})
        now = utcnow()
        work.record_post_evaluation(self.db, self.district, row, c.PostEvaluation(
            matter_id=matter.id, meeting_id=meeting.id, summary=request.summary, satisfaction=request.satisfaction,
            recorded_at=now).model_dump(mode="json"), request.actor, now)
        return self._changed(self._project_reply(row.id), "post_evaluation")

    @query
    def get_project(self, request: c.ProjectRequest) -> c.ProjectReply:
        return self._project_reply(request.project_id)

    @query
    def list_projects(self, request: c.ListProjectsRequest) -> c.ProjectList:
        p, pc = m.projects.c, m.project_complexes.c
        q = select(m.projects).where(p.district == self.district)
        if request.complex_id is not None:
            q = q.where(p.id.in_(select(pc.project_id).where(pc.district == self.district,
                                                             pc.complex_id == request.complex_id)))
        if request.programme_id is not None:
            q = q.where(p.programme_id == request.programme_id)
        if request.status is not None:
            q = q.where(p.status == request.status)
        total = self.db.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        rows = self.db.execute(q.order_by(p.id).limit(request.limit).offset(request.offset)).all()
        tree = Tree(self.db, self.district)
        return c.ProjectList(projects=[views.project(self.db, r, tree, self.options.hearing_above_fen, False)
                                       for r in rows], total=total)

    @query
    def complex_summary(self, request: c.ComplexSummaryRequest) -> c.ComplexSummary:
        listed = self.list_projects(c.ListProjectsRequest(complex_id=request.complex_id, limit=5000)).projects
        ids = [x.id for x in listed]
        kinds = {r.id: r.kind for r in self.db.execute(select(m.funds.c.id, m.funds.c.kind).where(
            m.funds.c.district == self.district))}
        by_kind: dict[str, int] = {}
        for fund_id, amount in views.spent_by_fund(self.db, self.district, ids).items():
            by_kind[kinds[fund_id]] = by_kind.get(kinds[fund_id], 0) + amount
        v = m.movements.c
        for fund_id, amount in self.db.execute(select(v.fund_id, func.sum(v.amount)).where(
                v.district == self.district, v.kind == "draw", v.status == "paid", v.serves_kind == "ticket",
                v.fund_id.in_(select(m.funds.c.id).where(m.funds.c.complex_id == request.complex_id)))
                .group_by(v.fund_id)):
            by_kind[kinds[fund_id]] = by_kind.get(kinds[fund_id], 0) + int(amount)
        upcoming = sorted((s for x in listed if x.status in ("planned", "in_progress") for s in x.milestones
                           if s.done_on is None), key=lambda s: s.due_on)[:10]
        return c.ComplexSummary(complex_id=request.complex_id, projects=listed,
                                spent_by_source=[c.SpentBySource(fund_kind=k, spent=v) for k, v in sorted(by_kind.items())],
                                next_milestones=upcoming)

    # -- import ----------------------------------------------------------------------------------

    @command
    def import_projects(self, request: c.ImportProjectsRequest) -> c.ImportReply:
        district_place = actors.region_place(self.registry, self.district, "actor")
        actors.require(self.registry, request.actor, c.OFFICERS, district_place, "import the district's projects")
        known: dict[str, bool] = {}

        def known_complex(cx: str) -> bool:
            if cx not in known:
                try:
                    self.registry.resolve(complex_id=cx)
                    known[cx] = True
                except NotFound:
                    known[cx] = False
            return known[cx]

        def exists(table):
            return lambda x: self.db.execute(select(table.c.id).where(table.c.district == self.district,
                                                                      table.c.id == x)).first() is not None

        parsed, problems = csvimport.parse(request.csv, known_complex=known_complex,
                                           fund_exists=exists(m.funds),
                                           programme_exists=exists(m.programmes),
                                           project_exists=exists(m.projects))
        if problems:
            return c.ImportReply(applied=False, created=[], problems=problems)
        now = utcnow()
        for project, progress in parsed:
            work.create(self.db, self.district, project.model_copy(update={"actor": request.actor}), now)
            if progress:
                self.db.execute(m.projects.update().where(m.projects.c.district == self.district,
                                                          m.projects.c.id == project.id).values(progress=progress))
        for project, _ in parsed:
            self._changed(self._project_reply(project.id), "imported")
        self.metrics.counter("redprop_projects_imported", "Projects created by CSV import.").inc(len(parsed))
        return c.ImportReply(applied=True, created=[p.id for p, _ in parsed], problems=[])

