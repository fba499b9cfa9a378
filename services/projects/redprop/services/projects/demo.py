"""Demo steps: the emergency repair funds of Zhuanqiao before ticketing's leak repair (order 15), then the
2022-2024 programme, a project through hearing, work and post-evaluation, and leak repairs drawing on a
complex's emergency fund until it runs out and the next, larger one needs approval (order 70)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redprop.config import ServiceSettings, Settings
from redprop.contracts.ticketing import Actor
from redprop.errors import Conflict

#: The sample district's officials (registry/sample.py): the district officer, Dongjing town's officer and
#: Zhuanqiao's community worker.
DO, SO, CW = "OFF-DISTRICT", "SD-DJ", "CW-ZQ"
ZQ = ("ZQ-JHJY", "ZQ-YC", "ZQ-EC")


def yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def configure(settings: Settings) -> Settings:
    """Ticketing's emergency-fund resolutions draw from the projects ledger in the demo."""
    ticketing = settings.service("ticketing")
    services = dict(settings.services)
    services["ticketing"] = ServiceSettings.model_validate(
        {**ticketing.model_dump(), "options": {**ticketing.options, "fund_ledger": "projects"}})
    return settings.model_copy(update={"services": services})


def emergency_funds(ctx) -> None:
    rpc = ctx.rpc
    ctx.section("Projects: the emergency repair funds for common parts (公共部位应急维修资金)")
    rows = []
    for n, cx in enumerate(ZQ):
        fid = f"EM-{cx}"
        rpc.projects.create_fund(request_id=f"demo-fund-{fid}", id=fid, kind="emergency_repair",
                                 name=f"{cx} 公共部位应急维修资金", scope_id=cx, actor=DO)
        amount = 800_000 if n < 2 else 600_000
        f = rpc.projects.allocate(request_id=f"demo-alloc-{fid}", fund_id=fid, year=datetime.now(UTC).year,
                                  amount=amount, purpose="镇财政年度拨款", actor=DO).fund
        rows.append([fid, yuan(f.balance)])
    ctx.table(["fund", "balance (yuan)"], rows)
    ctx.say("Ticketing's repairs paid from the emergency fund now draw from these ledgers "
            "(services.ticketing.options.fund_ledger: projects).")


emergency_funds.order = 15
emergency_funds.services = ("registry", "projects")
emergency_funds.configure = configure


def _complexes(rpc, within: str) -> list:
    return rpc.registry.list(kind="complex", within=within, limit=500).items


def _programme(ctx) -> None:
    rpc = ctx.rpc
    year = 2022
    rpc.projects.create_fund(request_id="demo-fund-sr", id="SR-990001", kind="special_renovation",
                             name="老旧小区改造专项资金", scope_id="990001", actor=DO)
    for y, amount in ((2022, 4_000_000_000), (2023, 3_000_000_000), (2024, 2_000_000_000)):
        rpc.projects.allocate(request_id=f"demo-alloc-sr-{y}", fund_id="SR-990001", year=y, amount=amount, actor=DO)
    rpc.projects.create_programme(request_id="demo-programme", id="PLAN-2022-2024", name="三年行动计划 2022-2024",
                                  scope_id="990001", start_year=2022, end_year=2024, actor=DO)
    xsq = [cx for cx in _complexes(rpc, "XSQ")]
    renovations, heating = xsq[:12], xsq[12:26] if len(xsq) >= 26 else xsq[:14]
    for parent, kind, title, members, budget in (
            ("REN-2022", "renovation", "三无小区综合整治 12 complexes over 20 years old", renovations, 80_000_000),
            ("HEAT-2022", "heating_network", "二次供热管网改造 14 complexes", heating, 45_000_000)):
        rpc.projects.create_project(request_id=f"demo-{parent}", id=parent, name=title, kind=kind,
                                    complex_ids=[cx.id for cx in members], programme_id="PLAN-2022-2024",
                                    starts_on=f"{year}-03-01", actor=DO)
        for n, cx in enumerate(members):
            pid = f"{parent}-{n + 1:02d}"
            rpc.projects.create_project(
                request_id=f"demo-{pid}", id=pid, name=f"{cx.name.split()[0]} {title.split()[0]}", kind=kind,
                complex_ids=[cx.id], parent_id=parent, starts_on=f"{year + n % 3}-04-01",
                budget_lines=[{"fund_id": "SR-990001", "amount": budget + n * 1_000_000}],
                milestones=[{"title": "开工", "due_on": f"{year + n % 3}-05-01"},
                            {"title": "竣工验收", "due_on": f"{year + n % 3}-11-30"}], actor=DO)
            done = 100 if n % 3 == 0 else (60 if n % 3 == 1 else 0)
            if done:
                rpc.projects.set_status(request_id=f"demo-start-{pid}", project_id=pid, status="in_progress", actor=DO)
                rpc.projects.record_progress(request_id=f"demo-progress-{pid}", project_id=pid, percent=done,
                                             note="按计划推进", milestones_done=[1] if done < 100 else [1, 2],
                                             actor=DO)
    plan = rpc.projects.get_programme(programme_id="PLAN-2022-2024").programme
    rows = []
    for pid in ("REN-2022", "HEAT-2022"):
        p = rpc.projects.get_project(project_id=pid).project
        rows.append([p.name, len(p.children), yuan(p.budget), f"{p.progress}%"])
    rows.append([plan.name, plan.projects, yuan(plan.budget), f"{plan.progress}%"])
    ctx.say("The district programme; progress rolls up from each complex's project, weighted by budget:")
    ctx.table(["", "sub-projects", "budget (yuan)", "progress"], rows)


def _hearing_to_evaluation(ctx) -> None:
    rpc = ctx.rpc
    cx = "ZQ-JHJY"
    rpc.projects.create_fund(request_id="demo-fund-q", id=f"Q-{cx}", kind="quality_improvement",
                             name="嘉和景苑品质提升资金", scope_id=cx, actor=DO)
    rpc.projects.allocate(request_id="demo-alloc-q", fund_id=f"Q-{cx}", year=2024, amount=150_000_000, actor=DO)
    rpc.projects.create_project(
        request_id="demo-zq-quality", id="ZQ-QUALITY", name="嘉和景苑品质提升：步道、绿篱、非机动车位、162米文化墙",
        kind="culture_wall", complex_ids=[cx], starts_on="2024-04-01",
        budget_lines=[{"fund_id": f"Q-{cx}", "amount": 120_000_000}], actor=DO)
    matter = rpc.mediation.open_matter(actor=CW, request_id="demo-zq-quality-matter", title="嘉和景苑品质提升方案",
                                       topic="renovation", complex_id=cx,
                                       parties=["party_branch", "property_company", "self_management_committee",
                                                "building_leaders"]).matter.id
    rpc.projects.link(request_id="demo-zq-quality-link", project_id="ZQ-QUALITY",
                      link={"kind": "matter", "id": matter}, actor=CW)
    try:
        rpc.projects.set_status(request_id="demo-zq-quality-early", project_id="ZQ-QUALITY", status="in_progress",
                                actor=CW)
    except Conflict as exc:
        ctx.say(f"Starting the 1.2-million-yuan quality project before its hearing is refused: {exc.message[:90]}...")
    now = datetime.now(UTC)

    def meeting(kind, when, minutes, key):
        return rpc.mediation.record_meeting(actor=CW,
            request_id=f"demo-zq-quality-{key}", matter_id=matter, kind=kind, held_at=when.isoformat(),
            agenda=[{"title": "品质提升方案"}], minutes=minutes,
            organisations=[{"party": "party_branch"}, {"party": "property_company", "organisation_id": "ZQ-PROP"}],
        ).meeting.id

    meeting("hearing", now - timedelta(minutes=5), "事前听证：居民同意方案", "hearing")
    rpc.projects.set_status(request_id="demo-zq-quality-start", project_id="ZQ-QUALITY", status="in_progress",
                            actor=CW)
    held = rpc.projects.draw(request_id="demo-zq-quality-draw", fund_id=f"Q-{cx}", amount=118_600_000,
                             serves={"kind": "project", "id": "ZQ-QUALITY"}, purpose="施工款", actor=CW).movement
    rpc.projects.approve_draw(request_id="demo-zq-quality-ok-c", movement_id=held.id, level="community", actor=CW)
    rpc.projects.approve_draw(request_id="demo-zq-quality-ok-s", movement_id=held.id, level="subdistrict", actor=SO)
    rpc.projects.record_progress(request_id="demo-zq-quality-done", project_id="ZQ-QUALITY", percent=100,
                                 note="文化墙完工", actor=CW)
    rpc.projects.set_status(request_id="demo-zq-quality-completed", project_id="ZQ-QUALITY", status="completed",
                            actor=CW)
    after = meeting("deliberation", datetime.now(UTC) + timedelta(seconds=1), "事后评议：满意", "evaluation")
    rpc.projects.record_post_evaluation(request_id="demo-zq-quality-eval", project_id="ZQ-QUALITY",
                                        matter_id=matter, meeting_id=after, summary="居民评议满意", satisfaction=94,
                                        actor=CW)
    p = rpc.projects.set_status(request_id="demo-zq-quality-close", project_id="ZQ-QUALITY", status="closed",
                                actor=CW).project
    ctx.say(f"Hearing recorded in mediation -> work -> post-evaluation -> {p.status}; "
            f"spent {yuan(p.spent)} of {yuan(p.budget)} yuan (the draw approved by the community and the town); timeline: {' -> '.join(e.change for e in p.timeline)}")


def _leaks_until_empty(ctx) -> None:
    rpc = ctx.rpc
    cx, fid = "ZQ-EC", "EM-ZQ-EC"
    building = rpc.registry.list(kind="building", within=cx, limit=1).items[0].id
    resident = rpc.registry.list(kind="household", within=building, limit=1).items[0].owner_ids[0]
    ctx.say(f"Leak repairs in {cx} paid from its emergency fund ({yuan(rpc.projects.get_fund(fund_id=fid).fund.balance)}"
            " yuan):")
    # Public money: the person resolving for the company is named (the company's manager here).
    staff = next(r.person_id for r in rpc.registry.list(kind="role", role="company_manager", limit=5000).items
                 if r.organisation_id == "ZQ-PROP")
    repairs = ((6, 1, 2), (120, 3, 7), (6, 1, 2))
    for n, (seal, pipe, hours) in enumerate(repairs):
        t = rpc.ticketing.submit(request_id=f"demo-proj-leak-{n}", resident_id=resident, category="leak",
                                 building_id=building, description=f"{n + 1}号单元楼道漏水 stairwell leak {n}").ticket
        company = Actor(kind="handler", handler_kind=t.handler.kind, id=t.handler.id, person_id=staff)
        rpc.ticketing.accept(request_id=f"demo-proj-leak-accept-{n}", ticket_id=t.id, actor=company)
        items = [{"code": "SEAL-M", "quantity": str(seal)}, {"code": "PIPE", "quantity": str(pipe)},
                 {"code": "LABOUR-H", "quantity": str(hours)}]
        try:
            done = rpc.ticketing.resolve(request_id=f"demo-proj-leak-resolve-{n}", ticket_id=t.id, actor=company,
                                         summary="楼道防水修复", funding_source="emergency_repair_fund",
                                         items=items).ticket
        except Conflict as exc:
            ctx.say(f"  repair {n + 1}: refused, {exc.message.split(';')[0]}; the ticket stays in progress until "
                    "the town tops the fund up")
            continue
        [mv] = rpc.projects.ledger(serves_kind="ticket", serves_id=t.id).movements
        ctx.say(f"  repair {n + 1}: {done.cost} yuan -> {mv.status}"
                + (f" (above 5,000 yuan: awaiting {' and '.join(mv.awaiting)})" if mv.awaiting else "")
                + f"; balance {yuan(mv.balance_after)}")
        if mv.awaiting:
            rpc.projects.approve_draw(request_id=f"demo-approve-c-{n}", movement_id=mv.id, level="community", actor=CW)
            mv = rpc.projects.approve_draw(request_id=f"demo-approve-s-{n}", movement_id=mv.id, level="subdistrict",
                                           actor=SO).movement
            ctx.say(f"    approved by the community ({CW}) and the town ({SO}) -> {mv.status}")


def programme_and_funds(ctx) -> None:
    ctx.section("Projects: the 2022-2024 programme, hearing to post-evaluation, and the emergency fund running out")
    _programme(ctx)
    _hearing_to_evaluation(ctx)
    _leaks_until_empty(ctx)
    ctx.hint("projects.complex_summary '{\"complex_id\": \"ZQ-JHJY\"}'")
    ctx.hint("projects.ledger '{\"fund_id\": \"EM-ZQ-EC\"}'")


programme_and_funds.order = 70
programme_and_funds.services = ("registry", "ticketing", "mediation", "projects")
