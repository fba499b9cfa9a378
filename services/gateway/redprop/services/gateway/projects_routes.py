"""What residents see of the projects of their complex (Civil Code Art. 281: how the maintenance funds are
used is made public to the owners): a complex's projects as JSON and as a CSV export for the street office,
and one project as a plain HTML page with its progress, money spent by source and what is next.

Amounts are kept in fen by the service; the page and the export also show yuan (fen / 100) for reading.
"""

from __future__ import annotations

import csv
import io
from html import escape

from werkzeug.wrappers import Response

from redprop.contracts import projects as projects_c
from redprop.errors import NotFound
from redprop.messaging import ServiceRpc
from redprop.services.gateway.http import json_response, route

OPS = projects_c.CONTRACT.operations
FUND_NAMES = {"special_renovation": "专项维修资金", "quality_improvement": "提质改造资金",
              "emergency_repair": "应急维修资金", "maintenance": "日常维护资金", "donation": "捐赠"}
STATUS_NAMES = {"planned": "计划中", "in_progress": "进行中", "completed": "已完工", "closed": "已结项",
                "cancelled": "已取消"}
CSV_HEADER = ["project_id", "name", "kind", "status", "starts_on", "ends_on", "progress_percent",
              "budget_fen", "spent_fen", "next_milestone", "next_due_on"]


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _next(project: projects_c.Project):
    pending = sorted((m for m in project.milestones if m.done_on is None), key=lambda m: (m.due_on, m.seq))
    return pending[0] if pending else None


def _summary(service, complex_id: str) -> projects_c.ComplexSummary:
    # An unknown complex is a 404 (the service would answer an empty summary for any id).
    try:
        service.registry.get(kind="complex", id=complex_id)
    except NotFound:
        raise NotFound.entity("complex", complex_id, "complex_id") from None
    return service.projects.complex_summary(complex_id=complex_id)


def summary_csv(summary: projects_c.ComplexSummary) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for p in summary.projects:
        nxt = _next(p)
        writer.writerow([p.id, _cell(p.name), p.kind, p.status, p.starts_on.isoformat(),
                         p.ends_on.isoformat() if p.ends_on else "", p.progress, p.budget, p.spent,
                         _cell(nxt.title) if nxt else "", nxt.due_on.isoformat() if nxt else ""])
    return out.getvalue()


def _cell(text: str) -> str:
    # A cell a spreadsheet would run as a formula (=, +, -, @) is kept as text (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def project_page(project: projects_c.Project) -> str:
    """Chinese first, every value escaped."""
    by_source = "".join(
        f"<tr><td>{escape(FUND_NAMES.get(b.fund_kind, b.fund_kind))} ({escape(b.fund_kind)})</td>"
        f"<td>{yuan(b.amount)}</td><td>{yuan(b.spent)}</td></tr>" for b in project.budget_lines)
    pending = sorted((m for m in project.milestones if m.done_on is None), key=lambda m: (m.due_on, m.seq))
    done = [m for m in project.milestones if m.done_on is not None]
    nxt = "".join(f"<li>{escape(m.due_on.isoformat())} {escape(m.title)}</li>" for m in pending) or "<li>无 None</li>"
    past = "".join(f"<li>{escape(m.done_on.isoformat())} {escape(m.title)}</li>" for m in done) or "<li>无 None</li>"
    name = escape(project.name)
    status = f"{STATUS_NAMES.get(project.status, project.status)} ({project.status})"
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{name}</title></head>'
            f"<body><h1>{name}</h1><p>状态 Status: {escape(status)}；进度 Progress: {project.progress}%</p>"
            f"<p>开工 Starts: {escape(project.starts_on.isoformat())}"
            f"{'；竣工 Ends: ' + escape(project.ends_on.isoformat()) if project.ends_on else ''}</p>"
            f"<h2>资金来源与支出（元） Money by source (yuan)</h2><table><tr><th>来源 Source</th><th>预算 Budget</th>"
            f"<th>已支出 Spent</th></tr>{by_source}<tr><th>合计 Total</th><td>{yuan(project.budget)}</td>"
            f"<td>{yuan(project.spent)}</td></tr></table>"
            f"<h2>下一步 What is next</h2><ul>{nxt}</ul><h2>已完成 Done</h2><ul>{past}</ul></body></html>")


class ProjectsRoutes:
    """Installed on GatewayService."""

    @route("GET", "/api/v1/complexes/{complex_id}/projects", "getComplexProjects", tags=("projects",),
           operation=OPS["complex_summary"], permission="projects.read", reply=projects_c.ComplexSummary)
    def complex_projects(self, request, principal, complex_id):
        return json_response(_summary(self, complex_id).model_dump(mode="json"))

    @route("GET", "/api/v1/complexes/{complex_id}/projects.csv", "exportComplexProjects",
           "As CSV (UTF-8 with a BOM, for Excel), amounts in fen.", tags=("projects",),
           operation=OPS["complex_summary"], permission="projects.read", media_type="text/csv")
    def complex_projects_csv(self, request, principal, complex_id):
        body = "\ufeff" + summary_csv(_summary(self, complex_id))
        return Response(body, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="projects-{complex_id}.csv"'})

    @route("GET", "/projects/{project_id}", "getProjectPage", "As a plain HTML page.", tags=("projects",),
           operation=OPS["get_project"], permission="projects.read", media_type="text/html")
    def project_page(self, request, principal, project_id):
        return Response(project_page(self.projects.get_project(project_id=project_id).project),
                        mimetype="text/html")


def install(service_cls: type) -> None:
    """Add the proxy and these entrypoints to the gateway's class (after its own, as the workbench's)."""
    service_cls.projects = ServiceRpc("projects")
    for name, member in vars(ProjectsRoutes).items():
        if callable(member) and not name.startswith("_"):
            setattr(service_cls, name, member)
