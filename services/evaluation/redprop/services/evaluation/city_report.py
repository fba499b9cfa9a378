"""The city report (``redprop evaluation report --city``): the city league table as one self-contained
HTML page: the districts' summaries, then one league table per rubric (indexes are only comparable
under the same rubric). Pure, from a ``city_league_table`` reply; every piece of text from the data is
escaped. Styling is the district report's."""

from __future__ import annotations

from datetime import datetime

from redprop.contracts import evaluation as c
from redprop.services.evaluation.report import CSS, _change, _e, _fmt


def districts_html(reply: c.CityLeagueTableReply) -> str:
    head = "".join(f"<th>{_e(p)}</th>" for p in reply.periods)
    lines = []
    for d in reply.districts:
        stars = " ".join(f"{s.stars}★ {s.companies}" for s in d.stars)
        trend = "".join(f"<td>{_fmt(t.mean_index)}</td>" for t in d.trend)
        lines.append(f'<tr><td class="name">{_e(d.district)}</td><td class="name">{_e(d.rubric)}</td>'
                     f"<td>{d.companies}</td><td><b>{_fmt(d.mean_index)}</b></td><td>{_e(stars)}</td>{trend}</tr>")
    if not lines:
        lines.append(f'<tr><td class="name" colspan="{5 + len(reply.periods)}">暂无数据 · No data</td></tr>')
    return ('<table class="districts"><thead><tr><th class="name">区 District</th><th class="name">细则 Rubric</th>'
            "<th>企业<br>Companies</th><th>平均指数<br>Mean index</th><th>星级<br>Stars</th>"
            f"{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>")


def group_html(group: c.RubricLeague, periods: list[str]) -> str:
    head = "".join(f"<th>{_e(p)}</th>" for p in periods)
    lines = []
    for r in group.rows:
        trend = "".join(f"<td>{_fmt(p.index)}</td>" for p in r.trend)
        stars = f'<span class="stars">{"★" * r.stars}</span>' if r.stars else "–"
        lines.append(f"<tr><td>{r.rank or '–'}</td><td>{_e(r.district)}</td><td>{r.district_rank or '–'}</td>"
                     f'<td class="name">{_e(r.name or r.company_id)}<br><small>{_e(r.company_id)}</small></td>'
                     f"<td><b>{_fmt(r.index)}</b></td><td>{stars}</td><td>{_change(r.change)}</td>"
                     f"<td>{_change(r.rank_change, 0)}</td>{trend}</tr>")
    shown = f"（前 {len(group.rows)} / 共 {group.total}）" if len(group.rows) < group.total else ""
    return (f'<section class="rubric"><h2>{_e(group.rubric)} <small>v{_e(", v".join(group.rubric_versions))} · '
            f"{_e(', '.join(group.districts))}{_e(shown)}</small></h2>"
            '<table class="league"><thead><tr><th>全市排名<br>City rank</th><th>区 District</th>'
            '<th>区内排名<br>District rank</th><th class="name">企业 Company</th><th>指数<br>Index</th>'
            "<th>星级<br>Stars</th><th>指数变化<br>Change</th><th>名次变化<br>Rank change</th>"
            f"{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></section>")


def render_city(reply: c.CityLeagueTableReply, city_name: str, generated_at: datetime) -> str:
    span = f"{reply.periods[0]} – {reply.periods[-1]}" if reply.periods else ""
    groups = "".join(group_html(g, reply.periods) for g in reply.groups) or \
        '<section><p class="note">暂无数据 · No data</p></section>'
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(city_name)} 红色物业全市排行榜 City league table</title>
<style>{CSS}</style></head>
<body>
<header><h1>{_e(city_name)} · 红色物业全市排行榜</h1>
<p>City league table · {_e(reply.city)} · {_e(span)}</p>
<p>生成于 generated {_e(generated_at.strftime('%Y-%m-%d %H:%M %Z'))}</p></header>
<main>
<section id="districts"><h2>各区概况 <small>Districts</small></h2>
<p class="note">各区最近一个季度结算时发布的排名：有指数的企业数、平均指数与星级；右侧为各季度平均指数。
Standings each district published when it closed the last quarter; mean index per quarter on the right.</p>
{districts_html(reply)}</section>
<p class="note">不同评价细则的指数不可比，按细则分组排名；并列同名次。 Indexes are only comparable under the same
rubric: companies are ranked within their rubric; ties share a rank.</p>
{groups}
</main>
<footer>redprop · 红色物业 Red Property governance · 数据来自各区 evaluation.period_closed 事件。
From the districts' evaluation.period_closed events.</footer>
</body></html>
"""
