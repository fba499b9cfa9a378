"""``redprop evaluation report --out FILE.html [--periods N] [--until PERIOD] [--city] [--projects]``: the
district report, or with ``--city`` the city league table (against the city release's instance).

It asks the running evaluation service over RPC (``league_table`` and ``district_summary``, or
``city_league_table``: the published contract), with ``--projects`` also the projects service
(``list_funds``, ``list_programmes``) for the projects section, and writes one self-contained HTML file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from redprop.config import Settings
from redprop.services.evaluation.city_report import render_city
from redprop.services.evaluation.periods import CHINA
from redprop.services.evaluation.projects_report import ProjectsData
from redprop.services.evaluation.report import ReportData, render


def fetch(rpc, settings: Settings, periods: int, until: str | None = None, projects: bool = False) -> ReportData:
    league = rpc.evaluation.league_table(periods=periods, until=until, limit=5000)
    # The same quarters for both replies, even if the quarter turns between the two calls.
    summary = rpc.evaluation.district_summary(periods=periods, until=league.periods[-1])
    return ReportData(district_name=settings.district_name or settings.district,
                      generated_at=datetime.now(CHINA), league=league, summary=summary,
                      projects=fetch_projects(rpc) if projects else None)


def fetch_projects(rpc) -> ProjectsData:
    """The projects section's data from the projects service's published queries."""
    return ProjectsData(funds=rpc.projects.list_funds(limit=5000), programmes=rpc.projects.list_programmes(limit=5000))


def write_report(rpc, settings: Settings, out: Path, periods: int = 4, until: str | None = None,
                 projects: bool = False) -> Path:
    html = render(fetch(rpc, settings, periods, until, projects))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def write_city_report(rpc, settings: Settings, out: Path, periods: int = 4, until: str | None = None) -> Path:
    reply = rpc.evaluation.city_league_table(periods=periods, period=until, limit=5000)
    html = render_city(reply, settings.district_name or settings.district, datetime.now(CHINA))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def cmd_report(args, settings: Settings) -> int:
    from redprop.messaging.client import RpcClient

    with RpcClient(settings, timeout=args.timeout) as rpc:
        if getattr(args, "city", False):
            out = write_city_report(rpc, settings, Path(args.out), args.periods, args.until)
        else:
            out = write_report(rpc, settings, Path(args.out), args.periods, args.until,
                               projects=getattr(args, "projects", False))
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    return 0


def _periods(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 40:
        raise ValueError(text)
    return value


def register(sub) -> None:
    p = sub.add_parser("evaluation", help="evaluation tools: the district report")
    esub = p.add_subparsers(dest="evaluation_command", required=True)
    q = esub.add_parser("report", help="write the district report (HTML with charts) from the running service")
    q.add_argument("--out", required=True, help="the HTML file to write")
    q.add_argument("--periods", type=_periods, default=4, help="quarters shown, 1-40 (default 4)")
    q.add_argument("--until", help="the last quarter shown, like 2026Q3 (default: the current one; with --city, the newest any district closed)")
    q.add_argument("--city", action="store_true",
                   help="the city league table across districts (the city release's instance, role: city)")
    q.add_argument("--projects", action="store_true",
                   help="add the projects section (spending per fund, progress per programme) from the projects service")
    q.add_argument("--timeout", type=float, default=None, help="seconds to wait for each reply")
    q.set_defaults(func=cmd_report)
