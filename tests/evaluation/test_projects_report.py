"""The district report's projects section: one bar per fund source with a fund (paid out of allocated) and
one per programme (its rolled-up progress), names escaped, empty charts when there is nothing; and the
section from the running projects service through ``redprop evaluation report --projects``."""

from __future__ import annotations

from argparse import Namespace
from datetime import UTC, datetime

import pytest

from redprop.contracts import projects as pj
from redprop.services.evaluation.cli import cmd_report
from redprop.services.evaluation.projects_report import ProjectsData, fund_rows
from redprop.services.evaluation.report import render
from tests.evaluation.test_report import parse, sample
from tests.projects.conftest import OFFICIALS, fund, rid

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def a_fund(fund_id: str, kind: str, allocated: int, drawn: int) -> pj.Fund:
    return pj.Fund(district="310112", id=fund_id, kind=kind, name=fund_id, scope_id="X1", balance=allocated - drawn,
                   allocated=allocated, drawn=drawn, held=0)


def a_programme(pid: str, name: str, progress: int) -> pj.Programme:
    return pj.Programme(district="310112", id=pid, name=name, scope_id="310112", start_year=2022, end_year=2024,
                        budget=1_000_000, spent=500_000, progress=progress, projects=3)


def page_of(funds: list[pj.Fund], programmes: list[pj.Programme]):
    data = sample()
    data.projects = ProjectsData(funds=pj.FundList(funds=funds, total=len(funds)),
                                 programmes=pj.ProgrammeList(programmes=programmes, total=len(programmes)))
    return parse(render(data))


def test_one_bar_per_fund_source_and_per_programme():
    funds = [a_fund("F1", "quality_improvement", 100_000, 25_000), a_fund("F2", "quality_improvement", 100_000, 75_000),
             a_fund("F3", "emergency_repair", 50_000, 50_000), a_fund("F4", "special_renovation", 0, 0)]
    programmes = [a_programme("P1", "三年行动计划 2022-2024", 64), a_programme("P2", "二次供热管网", 100),
                  a_programme("P3", "微更新", 0)]
    page = page_of(funds, programmes)
    assert len(page.svgs) == 5  # the report's three charts, then funds and programmes
    fund_bars, programme_bars = page.svgs[3]["bars"], page.svgs[4]["bars"]
    # Three sources have funds (two quality funds summed), in the report's order of sources.
    assert [(b["data-kind"], b["data-drawn"], b["data-allocated"]) for b in fund_bars] == [
        ("special renovation", "0", "0"), ("quality improvement", "100000", "200000"),
        ("emergency repair", "50000", "50000")]
    widths = [float(b["width"]) for b in fund_bars]
    assert widths[0] == 1.0 and widths[1] * 2 == pytest.approx(widths[2])  # nothing, half, all of it
    assert [(b["data-programme"], b["data-progress"]) for b in programme_bars] == [("P1", "64"), ("P2", "100"),
                                                                                   ("P3", "0")]
    assert float(programme_bars[1]["width"]) == pytest.approx(float(fund_bars[2]["width"]))
    text = "".join(page.text)
    assert "项目与资金" in text and "1,500 元" in text  # 1,500 yuan spent of 2,500 in all


def test_names_are_escaped_and_nothing_renders_empty_charts():
    evil = "<script>alert(1)</script> & \"计划\""
    page = page_of([], [a_programme("P1", evil, 50)])
    assert page.svgs[3]["bars"] == [] and page.svgs[3]["empty"]
    [bar] = page.svgs[4]["bars"]
    assert bar["data-progress"] == "50"
    data = sample()
    data.projects = ProjectsData(funds=pj.FundList(funds=[], total=0),
                                 programmes=pj.ProgrammeList(programmes=[a_programme("P1", evil, 50)], total=1))
    html = render(data)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;计划&quot;" in html
    assert fund_rows(pj.FundList(funds=[], total=0)) == []


def test_no_projects_section_unless_asked():
    page = parse(render(sample()))
    assert len(page.svgs) == 3 and "项目与资金" not in "".join(page.text)


def test_the_section_from_the_running_projects_service(run_suite, small_district, tmp_path):
    from tests.evaluation.conftest import extra_records

    suite = run_suite("registry", "ticketing", "evaluation", "projects",
                      services={"ticketing": {"options": {"sweep_interval": 3600}}})
    assert suite.rpc.registry.upsert(actor="P-DATA", records=small_district + extra_records() + OFFICIALS[:1]
                                     + [r for r in OFFICIALS if r["id"] == "R-DO1"], request_id=rid()).applied
    fund(suite.rpc, "F-Q-X1", kind="quality_improvement", scope="X1", amount=800_000)
    suite.rpc.projects.create_programme(request_id=rid(), id="PG1", name="三年行动计划", scope_id="990001",
                                        start_year=2022, end_year=2024, actor="DO1")
    out = tmp_path / "report.html"
    assert cmd_report(Namespace(out=str(out), periods=1, until=None, timeout=None, projects=True),
                      suite.settings) == 0
    page = parse(out.read_text(encoding="utf-8"))
    assert len(page.svgs) == 5
    assert [(b["data-kind"], b["data-allocated"]) for b in page.svgs[3]["bars"]] == [("quality improvement",
                                                                                      "800000")]
    assert [(b["data-programme"], b["data-progress"]) for b in page.svgs[4]["bars"]] == [("PG1", "0")]
    assert suite.rpc.projects.list_programmes(scope_id="nowhere").total == 0
