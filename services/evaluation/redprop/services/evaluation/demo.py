"""Demo step: Zhuanqiao's committees score their property company, the company is star-rated from its
tickets and scorecards, and the district's league table shows the quarter's standings and trend."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from redprop.contracts.ticketing import Actor
from redprop.errors import RedpropError
from redprop.services.evaluation.cli import write_report
from redprop.services.evaluation.periods import period_of
from redprop.services.registry.sample import company_staff

ZQ_COMPLEXES = ("ZQ-JHJY", "ZQ-YC", "ZQ-EC")
CARDS = {"ZQ-JHJY": ("9", "8.5", "7.5"), "ZQ-YC": ("8", "9", "7"), "ZQ-EC": ("7", "7.5", "6.5")}
ASSESSMENT = {"org_party_branch": "9", "org_party_activity": "9", "team_staffing": "7", "team_grid_cooperation": "7",
              "daily_transparency": "4", "social_reputation": "6"}


def _card(cleaning: str, security: str, trust: str) -> dict[str, str]:
    return {"daily_cleaning_greening": cleaning, "daily_security_facilities": security, "social_residents_trust": trust}


def _committee(rpc, complex_id: str) -> tuple[str, list[str]]:
    committee = rpc.registry.resolve(complex_id=complex_id).committee.id
    people = []
    for role in ("committee_chair", "committee_member"):
        people += [r.person_id for r in rpc.registry.list(kind="role", role=role, within=complex_id).items
                   if r.organisation_id == committee]
    return committee, people


def _person_with(rpc, role: str, organisation_id: str) -> str:
    return next(r.person_id for r in rpc.registry.list(kind="role", role=role, limit=5000).items
                if r.organisation_id == organisation_id)


def _more_tickets(rpc) -> None:
    """A few Xinshiqu tickets, so the league table has more than one company to rank."""
    def owner(building):
        return rpc.registry.list(kind="household", within=building, limit=1).items[0].owner_ids[0]

    for n, (building, rating) in enumerate((("XSQ-TRL-TH-B01", 4), ("XSQ-TRL-TH-B02", None), ("XSQ-TRL-LY-B01", 4))):
        resident = owner(building)
        t = rpc.ticketing.submit(request_id=f"demo-eval-ticket-{n}", resident_id=resident, category="leak",
                                 building_id=building, description=f"{building} 顶楼渗水").ticket
        if rating is None or t.handler is None or t.handler.kind != "property_company":
            continue
        company = Actor(kind="handler", handler_kind="property_company", id=t.handler.id,
                        person_id=company_staff(t.handler.id))  # its staff member on duty
        rpc.ticketing.accept(request_id=f"demo-eval-accept-{n}", ticket_id=t.id, actor=company)
        rpc.ticketing.resolve(request_id=f"demo-eval-resolve-{n}", ticket_id=t.id, actor=company, summary="已修复")
        rpc.ticketing.rate(request_id=f"demo-eval-rate-{n}", ticket_id=t.id, actor=Actor(kind="resident", id=resident),
                           rating=rating)


def _wait_for_kpis(rpc, company: str, rated: int, timeout: float = 15) -> list:
    deadline = time.monotonic() + timeout
    while True:
        rows = rpc.evaluation.kpis(scope="company", id=company).rows
        if sum(r.rated for r in rows) >= rated or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def _pct(x) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def scorecards_and_stars(ctx) -> None:
    rpc = ctx.rpc
    period = period_of(datetime.now(UTC))
    year = int(period[:4])
    ctx.section("Evaluation: committee scorecards, ticket KPIs and the star rating (红色物业星级评定)")
    _more_tickets(rpc)
    rows = _wait_for_kpis(rpc, "ZQ-PROP", rated=1)
    ctx.say(f"Ticket KPIs of the Zhuanqiao property company, from ticketing's events ({period}):")
    ctx.table(["company", "tickets", "response", "resolution", "satisfaction", "on time", "reopened", "mean rating"],
              [[r.name or r.scope_id, r.tickets, _pct(r.response_rate), _pct(r.resolution_rate),
                _pct(r.satisfaction_rate), _pct(r.on_time_rate), _pct(r.reopen_rate), r.mean_rating or "-"]
               for r in rows])
    complex_rows = [rpc.evaluation.kpis(scope="complex", id=cx, periods=[period]).rows for cx in ZQ_COMPLEXES]
    ctx.say("  per complex (all handlers): " + ", ".join(
        f"{cx} {rows_[0].tickets if rows_ else 0} ticket(s)" for cx, rows_ in zip(ZQ_COMPLEXES, complex_rows, strict=True)))

    ctx.say(f"\nEach self-management committee scores the company for {period}; a majority signs:")
    table = []
    for cx in ZQ_COMPLEXES:
        committee, people = _committee(rpc, cx)
        card = rpc.evaluation.submit_scorecard(request_id=f"demo-card-{cx}-{period}", complex_id=cx,
                                               committee_id=committee, period=period, submitted_by=people[0],
                                               scores=_card(*CARDS[cx])).scorecard
        if cx == "ZQ-EC":
            card = rpc.evaluation.correct_scorecard(
                request_id=f"demo-card-fix-{cx}-{period}", scorecard_id=card.id, corrected_by=people[0],
                reason="保洁分数少记了半分 cleaning score entered half a point low",
                scores=_card("7.5", "7.5", "6.5")).scorecard
        for k, person in enumerate(people[:card.signatures_needed]):
            card = rpc.evaluation.sign_scorecard(request_id=f"demo-sign-{cx}-{period}-{k}", scorecard_id=card.id,
                                                 person_id=person).scorecard
        v = card.versions[-1]
        table.append([cx, committee, f"v{card.current_version}" + (" (corrected)" if card.current_version > 1 else ""),
                      v.total, f"{len(v.signatures)}/{card.members}", f"v{card.effective_version}"])
    ctx.table(["complex", "committee", "version", "points (of 28)", "signed", "counts"], table)

    manager = _person_with(rpc, "company_manager", "ZQ-PROP")
    secretary = _person_with(rpc, "party_secretary", "ZQ-PARTY")
    me = {"organisation_id": "ZQ-PROP", "person_id": manager}
    rating = rpc.evaluation.apply(request_id=f"demo-apply-{year}", company_id="ZQ-PROP", year=year, actor=me,
                                  scores=ASSESSMENT, comment="自评：24小时驻点，党建联建").rating
    ctx.say(f"\nStar rating {rating.id} for {year}: three steps, each with its scores and who acted")
    try:
        rpc.evaluation.review(request_id=f"demo-self-review-{year}", rating_id=rating.id, actor=me, scores=ASSESSMENT)
    except RedpropError as exc:
        ctx.say(f"  the company tries to review itself: {exc.code}: {exc.message}")
    review = {**ASSESSMENT, "org_party_activity": "8", "social_reputation": "5"}
    rpc.evaluation.review(request_id=f"demo-review-{year}", rating_id=rating.id, scores=review, comment="核实属实",
                          actor={"organisation_id": "ZQ-PARTY", "person_id": secretary})
    rating = rpc.evaluation.certify(request_id=f"demo-certify-{year}", rating_id=rating.id, scores=review,
                                    comment="复核通过", actor={"organisation_id": "DEP-HOUSING",
                                                           "person_id": _person_with(rpc, "housing_officer",
                                                                                     "DEP-HOUSING")}).rating
    ctx.table(["step", "by", "total", "stars", "outcome"],
              [[s.step, f"{s.actor.organisation_id}/{s.actor.person_id}", s.total, s.stars or "-", s.outcome]
               for s in rating.steps])
    cert = rating.certificate
    if cert is not None:
        ctx.say(f"  certificate: {cert.stars} stars, valid until {cert.valid_until}, reviewed every year")

    ex = rpc.evaluation.explain(rating_id=rating.id).explanation
    ctx.say(f"\nWhy {ex.total} ({ex.rubric} rubric; evidence {ex.periods[0]}..{ex.periods[-1]}):")
    ctx.table(["item", "source", "points", "of", "basis"],
              [[i.code, i.source, i.points, i.max_points, i.basis[:70]] for i in ex.items])
    ctx.say("  scorecards used: " + ", ".join(f"{s['complex_id']} v{s['version']}" for s in ex.scorecards))

    league = rpc.evaluation.league_table(periods=4)
    ctx.say(f"\nLeague table of the district (quarterly evidence index: scorecard and KPI items, of 100), "
            f"{league.periods[0]}..{league.periods[-1]}:")
    ctx.table(["rank", "company", "index", "stars", "change", *league.periods],
              [[r.rank or "-", r.name or r.company_id, r.index if r.index is not None else "-", r.stars or "-",
                r.change if r.change is not None else "new",
                *[p.index if p.index is not None else "-" for p in r.trend]] for r in league.rows])
    out = write_report(rpc, ctx.settings, Path(ctx.settings.data_dir) / "evaluation-report.html", periods=4)
    ctx.say(f"\nDistrict report (星级分布, KPI trends, movers, league table): {out.resolve()}")
    ctx.hint(f"evaluation.explain '{{\"rating_id\": \"{rating.id}\"}}'")
    ctx.hint("evaluation.kpis '{\"scope\": \"company\", \"id\": \"ZQ-PROP\"}'")
    ctx.hint("evaluation.league_table '{\"periods\": 4}'")


scorecards_and_stars.order = 40
scorecards_and_stars.services = ("registry", "ticketing", "evaluation")


def district_report(ctx) -> None:
    """After the projects story: the district report again, now with its projects section."""
    rpc = ctx.rpc
    ctx.section("Evaluation: the district report with the projects section (spending per fund, programme progress)")
    out = write_report(rpc, ctx.settings, Path(ctx.settings.data_dir) / "evaluation-report.html", periods=4,
                       projects=True)
    funds = rpc.projects.list_funds(limit=5000)
    programmes = rpc.projects.list_programmes(limit=5000)
    ctx.say(f"District report with 项目与资金 Projects and funds: {funds.total} funds by source, "
            f"{programmes.total} programmes by progress: {out.resolve()}")
    ctx.table(["programme", "years", "projects", "progress", "spent / budget (yuan)"],
              [[p.name[:30], f"{p.start_year}-{p.end_year}", p.projects, f"{p.progress}%",
                f"{p.spent / 100:,.0f} / {p.budget / 100:,.0f}"] for p in programmes.programmes])
    ctx.hint("projects.list_programmes")


district_report.order = 75
district_report.services = ("registry", "ticketing", "evaluation", "projects")
