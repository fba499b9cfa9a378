"""The district report: the HTML parses, has one SVG per chart with as many bars and points as the data
has, escapes names, handles an empty district, and comes out of the CLI against a running service.

The headless-browser check (the page rendered to a PNG that is not blank) needs /usr/bin/chromium. It is
*defined only when chromium exists* (a collection-time condition, not a skip): without chromium the
test does not exist, and every other test here still checks the page through the HTML parser.
"""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from argparse import Namespace
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from redprop.contracts import evaluation as c
from redprop.services.evaluation.cli import cmd_report
from redprop.services.evaluation.report import ReportData, movers, render
from redprop.testing.suite import wait_for
from tests.evaluation.conftest import (
    COMPANY,
    MEMBERS,
    RED_SCORECARD,
    RESIDENT,
    act,
    rid,
    start,
    submit,
)

CHROMIUM = Path("/usr/bin/chromium")
PERIODS = ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]


class Page(HTMLParser):
    """Collects the structure the tests look at; raises on tags closed out of order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.svgs: list[dict] = []
        self.text: list[str] = []
        self.league_rows = 0
        self._in_league = False

    VOID = {"meta", "br", "line", "rect", "circle", "path", "img", "input", "hr", "link"}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs.append({"title": a.get("aria-label"), "bars": [], "points": [], "empty": False})
        elif tag == "rect" and a.get("class") == "bar":
            self.svgs[-1]["bars"].append(a)
        elif tag == "circle" and a.get("class") == "point":
            self.svgs[-1]["points"].append(a)
        elif tag == "text" and a.get("class") == "empty":
            self.svgs[-1]["empty"] = True
        elif tag == "table" and a.get("class") == "league":
            self._in_league = True
        elif tag == "tr" and self._in_league and "tbody" in self.stack:
            self.league_rows += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()
        if tag == "table":
            self._in_league = False

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.stack == [], f"unclosed tags: {page.stack}"
    return page


def kpi(period: str, tickets: int, rated: int = 0, satisfied: int = 0) -> c.PeriodKpi:
    rate = (lambda n, d: Decimal(n) / Decimal(d) if d else None)  # noqa: E731
    return c.PeriodKpi(period=period, companies=1 if tickets else 0, tickets=tickets, rated=rated,
                       response_rate=rate(tickets - 1, tickets), resolution_rate=rate(tickets // 2, tickets),
                       satisfaction_rate=rate(satisfied, rated), on_time_rate=rate(1, tickets // 2),
                       reopen_rate=rate(0, tickets), mean_rating=Decimal(4) if rated else None)


def row(company: str, name: str | None, indexes: list[Decimal | None], stars: int | None = None) -> c.LeagueRow:
    last, before = indexes[-1], indexes[-2]
    return c.LeagueRow(company_id=company, name=name, rank=None, index=last, stars=stars, rank_change=None,
                       change=last - before if last is not None and before is not None else None,
                       trend=[c.PeriodScore(period=p, index=i, rank=None, tickets=3) for p, i in
                              zip(PERIODS, indexes, strict=True)])


def data(rows: list[c.LeagueRow], kpis: list[c.PeriodKpi], stars: dict[int, int], companies: int) -> ReportData:
    league = c.LeagueTableReply(district="310112", rubric="red_property", rubric_version="1", periods=PERIODS,
                                rows=rows, best_movers=[], worst_movers=[])
    summary = c.DistrictSummaryReply(district="310112", periods=PERIODS, kpis=kpis, companies=companies,
                                     stars=[c.StarCount(stars=s, companies=stars.get(s, 0)) for s in (5, 4, 3)])
    return ReportData(district_name="闵行区 <Minhang>", generated_at=datetime(2026, 12, 1, tzinfo=UTC),
                      league=league, summary=summary)


def sample() -> ReportData:
    d = Decimal
    rows = [row("CO1", "阳光物业", [d(80), d(82), d(85), d("91.50")], stars=4),
            row("CO2", "宜居物业", [None, d(70), d(88), d("79.25")], stars=3),
            row("CO3", None, [d(60), d(61), d(62), d("62.00")]),                  # no change: not a mover
            row("CO4", "新城物业", [d(50), d(55), None, d(70)]),                    # no previous: not a mover
            row("CO5", "Evil <script>alert(1)</script> & Co", [d(90), d(90), d(95), d(80)], stars=5),
            row("CO6", "华东物业", [d(70), d(70), d(70), d("74.10")])]
    # Q1 has no tickets (no rates), Q2 tickets but no ratings (no satisfaction): points leave gaps.
    kpis = [kpi("2026Q1", 0), kpi("2026Q2", 10), kpi("2026Q3", 12, rated=6, satisfied=5),
            kpi("2026Q4", 20, rated=10, satisfied=7)]
    return data(rows, kpis, {5: 1, 4: 1, 3: 1}, companies=6)


def test_report_has_one_chart_each_with_the_data_bars_and_points():
    report = sample()
    page = parse(render(report))
    assert [s["title"] for s in page.svgs] == ["星级分布 Star distribution", "工单指标趋势 KPI trends per quarter",
                                               "进退步最大 Best and worst movers"]
    stars, trend, moved = page.svgs
    # 5, 4 and 3 stars, and "not rated" = 6 companies - 3 certified.
    assert [(b["data-label"], b["data-value"]) for b in stars["bars"]] == [
        ("5星 / 5 stars", "1"), ("4星 / 4 stars", "1"), ("3星 / 3 stars", "1"), ("未评星 / not rated", "3")]
    # Q1: no rates; Q2: 3 (no satisfaction); Q3 and Q4: all 4 rates.
    assert len(trend["points"]) == 3 + 4 + 4
    assert {p["data-period"] for p in trend["points"] if p["data-series"] == "satisfaction_rate"} == {"2026Q3",
                                                                                                      "2026Q4"}
    # Rises CO1 +6.50, CO6 +4.10; falls CO5 -15, CO2 -8.75; CO3 (0) and CO4 (no Q3) are not movers.
    assert [(b["data-company"], b["data-change"]) for b in moved["bars"]] == [
        ("CO1", "6.50"), ("CO6", "4.10"), ("CO5", "-15"), ("CO2", "-8.75")]
    assert not any(s["empty"] for s in page.svgs)
    assert page.league_rows == 6
    text = "".join(page.text)
    for label in ("星级分布", "Star distribution", "排行榜", "League table", "进步与退步", "Best and worst movers",
                  "工单指标趋势", "KPI trends"):
        assert label in text


def test_bar_heights_follow_the_values():
    report = sample()
    report.summary.stars[0].companies = 4  # 5 stars: 4, then 1, 1, and not rated 0
    bars = parse(render(report)).svgs[0]["bars"]
    heights = [float(b["height"]) for b in bars]
    assert heights[0] == pytest.approx(4 * heights[1]) and heights[1] == heights[2] > 0 and heights[3] == 0


def test_names_are_escaped_everywhere():
    html = render(sample())
    assert "<script>" not in html and "alert(1)</script>" not in html
    assert "Evil &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "闵行区 &lt;Minhang&gt;" in html
    page = parse(html)
    assert "Evil <script>alert(1)</script> & Co" in "".join(page.text)  # shown as text, not run


def test_movers_take_the_five_biggest_each_way():
    rows = [row(f"C{n:02d}", f"公司{n}", [Decimal(50), Decimal(50), Decimal(50), Decimal(50 + n)])
            for n in range(-7, 8)]
    best, worst = movers(data(rows, [], {}, 15).league)
    assert [r.company_id for r in best] == ["C07", "C06", "C05", "C04", "C03"]
    assert [r.company_id for r in worst] == ["C-7", "C-6", "C-5", "C-4", "C-3"]
    assert len(parse(render(data(rows, [], {}, 15))).svgs[2]["bars"]) == 10


def test_an_empty_district_renders_with_empty_charts():
    report = data([], [kpi(p, 0) for p in PERIODS], {}, companies=0)
    page = parse(render(report))
    assert len(page.svgs) == 3 and all(s["empty"] for s in page.svgs)
    assert [b["data-value"] for b in page.svgs[0]["bars"]] == ["0", "0", "0", "0"]
    assert page.svgs[1]["points"] == [] and page.svgs[2]["bars"] == []
    assert page.league_rows == 1 and "暂无数据 · No data" in "".join(page.text)
    html = render(report)
    assert not re.search(r'="[^"]*\b(nan|inf)\b', html, re.IGNORECASE)  # no division by zero leaked into SVG


def test_one_quarter_has_no_movers():
    report = data([], [kpi("2026Q4", 5)], {}, companies=0)
    report.league.periods = ["2026Q4"]
    report.summary.periods = ["2026Q4"]
    page = parse(render(report))
    assert len(page.svgs[1]["points"]) == 3 and "nothing to compare" in "".join(page.text)


@pytest.mark.integration
def test_report_from_the_running_service(run_suite, small_district, tmp_path):
    suite = start(run_suite, small_district)
    ticket = submit(suite)
    act(suite, "accept", ticket.id, COMPANY)
    act(suite, "resolve", ticket.id, COMPANY, summary="修好了")
    act(suite, "rate", ticket.id, RESIDENT, rating=5)
    period = suite.rpc.evaluation.league_table(periods=1).periods[-1]  # the current quarter, as the service sees it
    card = suite.rpc.evaluation.submit_scorecard(request_id=rid("card"), complex_id="X1", committee_id="OC1",
                                                 period=period, submitted_by=MEMBERS[0],
                                                 scores=RED_SCORECARD).scorecard
    for person in MEMBERS[:3]:
        suite.rpc.evaluation.sign_scorecard(request_id=rid("sign"), scorecard_id=card.id, person_id=person)
    wait_for(lambda: any(k.rated for k in suite.rpc.evaluation.district_summary(periods=1).kpis),
             message="the rating counted")
    summary = suite.rpc.evaluation.district_summary(periods=2)
    assert len(summary.kpis) == 2 and summary.kpis[-1].tickets == 1 and summary.companies == 1
    assert summary.kpis[-1].satisfaction_rate == Decimal(1) and summary.kpis[0].tickets == 0
    assert [(s.stars, s.companies) for s in summary.stars] == [(5, 0), (4, 0), (3, 0)]

    out = tmp_path / "r" / "report.html"
    assert cmd_report(Namespace(out=str(out), periods=2, until=None, timeout=None), suite.settings) == 0
    page = parse(out.read_text(encoding="utf-8"))
    assert len(page.svgs) == 3 and page.league_rows == 1
    assert [b["data-value"] for b in page.svgs[0]["bars"]] == ["0", "0", "0", "1"]
    assert len(page.svgs[1]["points"]) == 4 and page.svgs[2]["bars"] == []
    text = "".join(page.text)
    assert "CO1" in text and period in text and suite.settings.district_name in text


def test_bad_arguments_are_refused(capsys):
    from redprop.cli.main import build_parser

    for argv in (["evaluation", "report"], ["evaluation", "report", "--out", "x.html", "--periods", "0"]):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args(argv)
        assert exc.value.code == 2
    assert "--periods" in capsys.readouterr().err


def _png_stats(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct colours) of an 8-bit RGB(A) PNG, decoded with zlib only."""
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(blob):
        length, kind = struct.unpack(">I4s", blob[pos:pos + 8])
        chunk = blob[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour_type = header[:4]
    assert depth == 8 and colour_type in (2, 6)
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    colours, previous = set(), bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        kind, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b, cc = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                cur[i] = (cur[i] + a) & 255
            elif kind == 2:
                cur[i] = (cur[i] + b) & 255
            elif kind == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - cc
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else cc)) & 255
        if y % 4 == 0:
            colours.update(bytes(cur[x:x + 3]) for x in range(0, stride, bpp * 4))
        previous = cur
    return width, height, len(colours)


if CHROMIUM.exists():  # collected only where chromium is installed (see the module docstring)

    def test_report_renders_in_a_headless_browser(tmp_path):
        page, png = tmp_path / "report.html", tmp_path / "report.png"
        page.write_text(render(sample()), encoding="utf-8")
        subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
                        "--window-size=1200,1600", page.as_uri()],
                       check=True, capture_output=True, timeout=60)
        width, height, colours = _png_stats(png)
        assert (width, height) == (1200, 1600)
        assert png.stat().st_size > 30_000  # a blank page compresses to a few KB
        assert colours > 20  # the header red, star bars, lines, text: not one flat colour
