"""The district report: one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched)
with the star distribution, the KPI trends per quarter, the best and worst movers between the last
two quarters, and the league table. Labels are Chinese and English.

Rendering is pure: it takes the replies of ``league_table`` and ``district_summary`` (the published
contract), so the page can be produced from a running service or from any saved replies. Every chart
is one ``<svg>``; bars are ``<rect class="bar">`` and line points ``<circle class="point">`` (the
tests count them). Every piece of text from the data is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape

from redprop.contracts import evaluation as c
from redprop.services.evaluation.periods import CHINA

MOVERS = 5
FONT = "'Noto Sans CJK SC','Noto Sans SC','PingFang SC','Microsoft YaHei',sans-serif"
RED, GOLD, GREY, INK = "#b71c1c", "#c9a227", "#9e9e9e", "#263238"
UP, DOWN = "#2e7d32", "#c62828"
#: (field of PeriodKpi, Chinese, English, colour)
SERIES = (("response_rate", "及时响应率", "response", "#c62828"),
          ("resolution_rate", "办结率", "resolution", "#1565c0"),
          ("satisfaction_rate", "满意率", "satisfaction", "#2e7d32"),
          ("on_time_rate", "按时办结率", "on time", "#ef6c00"))
STAR_COLOURS = {5: RED, 4: "#e53935", 3: "#ef9a9a"}


@dataclass
class ReportData:
    district_name: str
    generated_at: datetime
    league: c.LeagueTableReply
    summary: c.DistrictSummaryReply
    #: The projects section (projects_report.ProjectsData), or None where the district runs no projects service.
    projects: object | None = None


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _fmt(value: Decimal | None, places: int = 2) -> str:
    return "–" if value is None else f"{value:.{places}f}"


def _pct(value: Decimal | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{_e(title)}" font-family="{FONT}">'
            f"<title>{_e(title)}</title>{''.join(body)}</svg>")


def _empty(width: int, height: int) -> str:
    return (f'<text class="empty" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
            f'fill="{GREY}" font-size="16">暂无数据 · No data</text>')


# -- charts ----------------------------------------------------------------------------------------------


def star_chart(summary: c.DistrictSummaryReply) -> str:
    """Vertical bars: companies with an active 5, 4 or 3-star certificate, and the ones without."""
    counts = [(f"{s.stars}★", f"{s.stars}星 / {s.stars} stars", s.companies, STAR_COLOURS.get(s.stars, RED))
              for s in summary.stars]
    certified = sum(s.companies for s in summary.stars)
    counts.append(("–", "未评星 / not rated", max(summary.companies - certified, 0), GREY))
    w, h, left, bottom, top = 520, 260, 48, 56, 20
    plot_h = h - bottom - top
    top_value = 4 * max(-(-max((n for *_, n, _ in counts), default=0) // 4), 1)  # 4 whole-number ticks
    slot = (w - left - 16) / len(counts)
    body = [f'<line x1="{left}" y1="{h - bottom}" x2="{w - 8}" y2="{h - bottom}" stroke="{INK}" stroke-width="1"/>']
    for k in range(5):
        value = top_value * k / 4
        y = h - bottom - plot_h * k / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - 8}" y2="{y:.1f}" stroke="#eceff1"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{GREY}">'
                    f"{value:.0f}</text>")
    for n, (short, label, value, colour) in enumerate(counts):
        bar_h = plot_h * value / top_value
        x = left + slot * n + slot * 0.2
        y = h - bottom - bar_h
        body.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.6:.1f}" height="{bar_h:.1f}" '
                    f'fill="{colour}" data-label="{_e(label)}" data-value="{value}"><title>{_e(label)}: {value}'
                    "</title></rect>"
                    f'<text x="{x + slot * 0.3:.1f}" y="{y - 6:.1f}" text-anchor="middle" font-size="13" '
                    f'font-weight="bold" fill="{INK}">{value}</text>'
                    f'<text x="{x + slot * 0.3:.1f}" y="{h - bottom + 20}" text-anchor="middle" font-size="15" '
                    f'fill="{colour if value or short != "–" else GREY}">{_e(short)}</text>'
                    f'<text x="{x + slot * 0.3:.1f}" y="{h - bottom + 38}" text-anchor="middle" font-size="11" '
                    f'fill="{INK}">{_e(label)}</text>')
    if summary.companies == 0:
        body.append(_empty(w, h - bottom))
    return _svg(w, h, "星级分布 Star distribution", body)


def kpi_chart(summary: c.DistrictSummaryReply) -> str:
    """Lines per rate over the quarters, 0-100 %; a quarter without tickets leaves a gap."""
    periods = [k.period for k in summary.kpis]
    w, h, left, right, top, bottom = 1000, 300, 52, 60, 20, 70
    plot_w, plot_h = w - left - right, h - top - bottom
    step = plot_w / max(len(periods) - 1, 1)

    def xy(n: int, value: Decimal, series: int | None = None) -> tuple[float, float]:
        x = left + (step * n if len(periods) > 1 else plot_w / 2)
        if series is not None:  # a few pixels apart, so equal rates stay visible side by side
            x += (series - (len(SERIES) - 1) / 2) * 5
        return x, top + plot_h * (1 - float(value))

    body = []
    for k in range(6):
        y = top + plot_h * k / 5
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="#eceff1"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{GREY}">'
                    f"{100 - k * 20}%</text>")
    for n, kpi in enumerate(summary.kpis):
        x, _ = xy(n, Decimal(0))
        body.append(f'<text x="{x:.1f}" y="{h - bottom + 18}" text-anchor="middle" font-size="12" fill="{INK}">'
                    f"{_e(kpi.period)}</text>"
                    f'<text x="{x:.1f}" y="{h - bottom + 33}" text-anchor="middle" font-size="10" fill="{GREY}">'
                    f"{kpi.tickets:,} 件 tickets</text>")
    any_point = False
    for s, (field, zh, en, colour) in enumerate(SERIES):
        path, pen_down = [], False
        for n, kpi in enumerate(summary.kpis):
            value = getattr(kpi, field)
            if value is None:
                pen_down = False
                continue
            x, y = xy(n, value, s)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            pen_down = True
        if path:
            body.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for n, kpi in enumerate(summary.kpis):
            value = getattr(kpi, field)
            if value is not None:
                any_point = True
                x, y = xy(n, value, s)
                body.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" '
                            f'data-series="{field}" data-period="{_e(kpi.period)}"><title>{_e(zh)} {_e(en)} '
                            f"{_e(kpi.period)}: {_pct(value)}</title></circle>")
    for n, (_, zh, en, colour) in enumerate(SERIES):
        x = left + n * (plot_w / len(SERIES))
        body.append(f'<rect x="{x:.1f}" y="{h - 22}" width="14" height="4" fill="{colour}"/>'
                    f'<text x="{x + 20:.1f}" y="{h - 16}" font-size="12" fill="{INK}">{_e(zh)} {_e(en)}</text>')
    if not any_point:
        body.append(_empty(w, h - bottom))
    return _svg(w, h, "工单指标趋势 KPI trends per quarter", body)


def movers(league: c.LeagueTableReply) -> tuple[list[c.LeagueRow], list[c.LeagueRow]]:
    """The biggest rises and falls of the index between the last two quarters (ordered as the league
    table orders its movers: by the change, then the company id)."""
    moved = [r for r in league.rows if r.change is not None]
    best = [r for r in sorted(moved, key=lambda r: (-r.change, r.company_id)) if r.change > 0][:MOVERS]
    worst = [r for r in sorted(moved, key=lambda r: (r.change, r.company_id)) if r.change < 0][:MOVERS]
    return best, worst


def movers_chart(league: c.LeagueTableReply) -> str:
    """Horizontal bars from a zero line: rises to the right, falls to the left."""
    best, worst = movers(league)
    rows = best + worst
    w, row_h, top, label_w = 1000, 30, 16, 260
    h = top * 2 + row_h * max(len(rows), 3)
    zero = label_w + (w - label_w) / 2
    half = (w - label_w) / 2 - 60
    biggest = max((abs(r.change) for r in rows), default=Decimal(1)) or Decimal(1)
    body = [f'<line x1="{zero:.1f}" y1="{top - 6}" x2="{zero:.1f}" y2="{h - top + 6}" stroke="{INK}"/>'] if rows else []
    for n, r in enumerate(rows):
        y = top + n * row_h
        length = half * float(abs(r.change) / biggest)
        rising = r.change > 0
        x = zero if rising else zero - length
        name = r.name or r.company_id
        short = name if len(name) <= 16 else name[:15] + "…"
        body.append(f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" font-size="13" '
                    f'fill="{INK}">{_e(short)}</text>'
                    f'<rect class="bar" x="{x:.1f}" y="{y + 5:.1f}" width="{max(length, 1):.1f}" '
                    f'height="{row_h - 10}" fill="{UP if rising else DOWN}" data-company="{_e(r.company_id)}" '
                    f'data-change="{r.change}"><title>{_e(name)}: {r.change:+}</title></rect>'
                    f'<text x="{(x + length + 6) if rising else (x - 6):.1f}" y="{y + row_h / 2 + 4:.1f}" '
                    f'text-anchor="{"start" if rising else "end"}" font-size="12" font-weight="bold" '
                    f'fill="{UP if rising else DOWN}">{r.change:+.2f}</text>')
    if not rows:
        body.append(_empty(w, h))
    return _svg(w, h, "进退步最大 Best and worst movers", body)


# -- the page --------------------------------------------------------------------------------------------

CSS = f"""
body {{ font-family: {FONT}; color: {INK}; margin: 0; background: #fafafa; }}
header {{ background: {RED}; color: #fff; padding: 20px 32px; border-bottom: 4px solid {GOLD}; }}
header h1 {{ margin: 0 0 4px; font-size: 26px; }}
header p {{ margin: 2px 0; opacity: .92; }}
main {{ padding: 8px 32px 32px; max-width: 1120px; }}
section {{ background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; margin: 18px 0; padding: 14px 20px; }}
h2 {{ font-size: 19px; margin: 4px 0 8px; color: {RED}; }}
h2 small {{ color: {INK}; font-weight: normal; font-size: 14px; }}
p.note {{ color: #607d8b; font-size: 13px; margin: 4px 0 8px; }}
.facts {{ display: flex; gap: 14px; flex-wrap: wrap; }}
.fact {{ flex: 1; min-width: 150px; background: #fff; border: 1px solid #e0e0e0; border-left: 4px solid {RED};
  border-radius: 4px; padding: 8px 12px; }}
.fact b {{ display: block; font-size: 24px; }}
.fact span {{ font-size: 12px; color: #607d8b; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #eceff1; padding: 5px 8px; text-align: right; white-space: nowrap; }}
th {{ background: #fbe9e7; font-weight: 600; }}
td.name, th.name {{ text-align: left; white-space: normal; }}
.up {{ color: {UP}; }} .down {{ color: {DOWN}; }} .stars {{ color: {GOLD}; letter-spacing: 1px; }}
footer {{ color: #90a4ae; font-size: 12px; padding: 0 32px 24px; }}
"""


def _change(value: Decimal | int | None, places: int = 2) -> str:
    if value is None:
        return '<span class="new">–</span>'
    if value == 0:
        return f"{value:.{places}f}" if places else "0"
    cls = "up" if value > 0 else "down"
    text = f"{value:+.{places}f}" if places else f"{value:+d}"
    return f'<span class="{cls}">{"▲" if value > 0 else "▼"} {text}</span>'


def league_html(league: c.LeagueTableReply) -> str:
    head = "".join(f"<th>{_e(p)}</th>" for p in league.periods)
    lines = []
    for r in league.rows:
        trend = "".join(f"<td>{_fmt(p.index)}</td>" for p in r.trend)
        stars = f'<span class="stars">{"★" * r.stars}</span>' if r.stars else "–"
        lines.append(f"<tr><td>{r.rank or '–'}</td><td class=\"name\">{_e(r.name or r.company_id)}<br>"
                     f"<small>{_e(r.company_id)}</small></td><td><b>{_fmt(r.index)}</b></td><td>{stars}</td>"
                     f"<td>{_change(r.change)}</td><td>{_change(r.rank_change, 0)}</td>{trend}</tr>")
    if not lines:
        lines.append(f'<tr><td class="name" colspan="{6 + len(league.periods)}">暂无数据 · No data</td></tr>')
    return ('<table class="league"><thead><tr><th>排名<br>Rank</th><th class="name">企业 Company</th>'
            "<th>指数<br>Index</th><th>星级<br>Stars</th><th>指数变化<br>Change</th><th>名次变化<br>Rank change</th>"
            f"{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>")


def kpi_table(summary: c.DistrictSummaryReply) -> str:
    cols = "".join(f"<th>{_e(zh)}<br>{_e(en)}</th>" for _, zh, en, _ in SERIES)
    rows = "".join(
        f"<tr><td class=\"name\">{_e(k.period)}</td><td>{k.companies}</td><td>{k.tickets:,}</td>"
        + "".join(f"<td>{_pct(getattr(k, f))}</td>" for f, *_ in SERIES)
        + f"<td>{_pct(k.reopen_rate)}</td><td>{_fmt(k.mean_rating)}</td></tr>" for k in summary.kpis)
    return ('<table class="kpis"><thead><tr><th class="name">季度<br>Quarter</th><th>企业<br>Companies</th>'
            f"<th>工单<br>Tickets</th>{cols}<th>返修率<br>reopened</th><th>平均评分<br>mean rating</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _projects(data: ReportData) -> str:
    if data.projects is None:
        return ""
    from redprop.services.evaluation.projects_report import (
        section,  # it imports this module's helpers
    )

    return section(data.projects)


def render(data: ReportData) -> str:
    league, summary = data.league, data.summary
    last = summary.kpis[-1] if summary.kpis else None
    certified = sum(s.companies for s in summary.stars)
    span = f"{league.periods[0]} – {league.periods[-1]}" if league.periods else ""
    previous = league.periods[-2] if len(league.periods) > 1 else None
    movers_note = (f"{_e(previous)} → {_e(league.periods[-1])}：季度证据指数（满分100）的变化，各取前{MOVERS}名。 "
                   f"Change of the quarterly evidence index (of 100), top {MOVERS} each way."
                   if previous else "只有一个季度，无法比较。 Only one quarter: nothing to compare.")
    fresh = summary.last_event_at
    fresh_text = (f" · 工单数据截至 KPIs as of {_e(fresh.astimezone(CHINA).strftime('%Y-%m-%d %H:%M %Z'))}"
                  if fresh else "")
    facts = [
        (summary.companies, "物业企业 property companies"),
        (certified, "有效星级证书 active star certificates"),
        (f"{last.tickets:,}" if last else 0, f"{_e(last.period) if last else ''} 工单 tickets"),
        (_pct(last.satisfaction_rate) if last else "–", "满意率 satisfaction"),
    ]
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(data.district_name)} 红色物业评价报告 District evaluation report</title>
<style>{CSS}</style></head>
<body>
<header><h1>{_e(data.district_name)} · 红色物业评价报告</h1>
<p>District evaluation report · {_e(league.district)} · {_e(span)}</p>
<p>评价细则 Rubric: {_e(league.rubric)} v{_e(league.rubric_version)} · 生成于 generated
{_e(data.generated_at.strftime('%Y-%m-%d %H:%M %Z'))}{fresh_text}</p></header>
<main>
<div class="facts">{''.join(f'<div class="fact"><b>{v}</b><span>{t}</span></div>' for v, t in facts)}</div>
<section id="stars"><h2>星级分布 <small>Star distribution</small></h2>
<p class="note">持有有效证书的企业，按星级；未评星含证书过期或被撤销的企业。 Companies by their active certificate;
"not rated" includes expired and revoked certificates.</p>
{star_chart(summary)}</section>
<section id="kpis"><h2>工单指标趋势 <small>Ticket KPI trends per quarter</small></h2>
<p class="note">全区物业企业工单合计，来自工单服务的事件。 Sums over the district's property companies,
from ticketing's events.</p>
{kpi_chart(summary)}
{kpi_table(summary)}</section>
<section id="movers"><h2>进步与退步 <small>Best and worst movers</small></h2>
<p class="note">{movers_note}</p>
{movers_chart(league)}</section>
<section id="league"><h2>排行榜 <small>League table</small></h2>
<p class="note">按季度证据指数排名（委员会评分与工单指标，满分100）；并列同名次。 Ranked by the quarterly
evidence index (committee scorecards and ticket KPIs, of 100); ties share a rank.</p>
{league_html(league)}</section>
{_projects(data)}
</main>
<footer>redprop · 红色物业 Red Property governance · 每个分数均可通过 evaluation.explain 与 company_score 追溯。
Every score can be explained with evaluation.explain and company_score.</footer>
</body></html>
"""
