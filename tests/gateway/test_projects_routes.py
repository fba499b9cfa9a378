"""What residents see of a complex's projects through the gateway: JSON, a plain HTML page and a CSV export."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from tests.gateway.conftest import start_gateway
from tests.projects.conftest import OFFICIALS

pytestmark = pytest.mark.integration


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def gateway(run_suite, small_district):
    gw = start_gateway(run_suite, small_district, "projects")
    rpc = gw.suite.rpc
    rpc.registry.upsert(actor="P-DATA", records=OFFICIALS, request_id=f"officials-{rid()[:8]}")
    rpc.projects.create_fund(request_id=rid(), id="F-SR", kind="special_renovation", name="专项维修资金",
                             scope_id="990001", actor="DO1")
    rpc.projects.allocate(request_id=rid(), fund_id="F-SR", year=2026, amount=10_000_000, actor="DO1")
    rpc.projects.create_project(request_id=rid(), id="M", name="=阳光小区<b>外墙</b>整治", kind="renovation",
                                complex_ids=["X1"], starts_on="2024-03-01",
                                budget_lines=[{"fund_id": "F-SR", "amount": 100_000}],
                                milestones=[{"title": "开工", "due_on": "2024-03-01"}], actor="DO1")
    rpc.projects.add_milestone(request_id=rid(), project_id="M", title="竣工 & 验收", due_on="2024-09-01",
                               actor="CW1")
    rpc.projects.set_status(request_id=rid(), project_id="M", status="in_progress", actor="CW1")
    rpc.projects.record_progress(request_id=rid(), project_id="M", percent=40, note="进展", milestones_done=[1],
                                 actor="CW1")
    rpc.projects.draw(request_id=rid(), fund_id="F-SR", amount=30_050, serves={"kind": "project", "id": "M"},
                      purpose="首期款", actor="DO1")
    return gw


def test_a_complex_projects_as_json(gateway):
    reply = gateway.call("GET", "/api/v1/complexes/X1/projects", "resident")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [p["id"] for p in body["projects"]] == ["M"] and body["projects"][0]["progress"] == 40
    assert body["spent_by_source"] == [{"fund_kind": "special_renovation", "spent": 30_050}]
    assert [m["title"] for m in body["next_milestones"]] == ["竣工 & 验收"]
    assert gateway.call("GET", "/api/v1/complexes/X2/projects", "resident").json()["projects"] == []
    assert gateway.call("GET", "/api/v1/complexes/X1/projects").status_code == 401


def test_unknown_complex_and_project_are_404(gateway):
    for path in ("/api/v1/complexes/X404/projects", "/api/v1/complexes/X404/projects.csv", "/projects/P404"):
        missing = gateway.call("GET", path, "resident")
        assert missing.status_code == 404, (path, missing.text)
        assert missing.json()["error"]["code"] == "not_found"


def test_the_project_page_is_plain_escaped_html(gateway):
    page = gateway.call("GET", "/projects/M", "resident")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert 'lang="zh-CN"' in html and "=阳光小区&lt;b&gt;外墙&lt;/b&gt;整治" in html and "<b>" not in html
    assert "进度 Progress: 40%" in html
    assert "专项维修资金" in html and "<td>1000.00</td><td>300.50</td>" in html  # by source, in yuan
    nxt = html[html.index("下一步"):html.index("已完成")]
    assert "竣工 &amp; 验收" in nxt and "开工" not in nxt  # what is next, not what is done


def test_the_csv_export_has_its_header_and_one_row_per_project(gateway):
    export = gateway.call("GET", "/api/v1/complexes/X1/projects.csv", "grid_worker")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in export.headers["Content-Disposition"]
    text = export.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["project_id", "name", "kind", "status", "starts_on", "ends_on", "progress_percent",
                       "budget_fen", "spent_fen", "next_milestone", "next_due_on"]
    assert rows[1:] == [["M", "'=阳光小区<b>外墙</b>整治", "renovation", "in_progress", "2024-03-01", "", "40",
                         "100000", "30050", "竣工 & 验收", "2024-09-01"]]  # a formula-looking cell kept as text
