"""The district report's projects section (issue 18): money spent per fund source and progress per
programme, as inline SVG in the style of report.py. It renders the projects service's published replies
(``list_funds`` and ``list_programmes``), so evaluation needs nothing of that service but its contract.
Bars are ``<rect class="bar">`` (the tests count them); every piece of text from the data is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from redprop.contracts import projects as pj
from redprop.services.evaluation.report import GOLD, GREY, INK, RED, _e, _empty, _svg

#: Fund sources in the order the report shows them (Chinese first).
FUND_KINDS = (("special_renovation", "专项改造资金", "special renovation"),
              ("quality_improvement", "品质提升资金", "quality improvement"),
              ("emergency_repair", "公共部位应急维修资金", "emergency repair"),
              ("maintenance", "专项维修资金", "maintenance fund"),
              ("donation", "捐赠", "donations"))


@dataclass
class ProjectsData:
    funds: pj.FundList
    programmes: pj.ProgrammeList


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.0f}"


def fund_rows(funds: pj.FundList) -> list[tuple[str, str, int, int, int]]:
    """(zh, en, allocated, drawn, funds) per fund source that has a fund, in FUND_KINDS order."""
    out = []
    for kind, zh, en in FUND_KINDS:
        these = [f for f in funds.funds if f.kind == kind]
        if these:
            out.append((zh, en, sum(f.allocated for f in these), sum(f.drawn for f in these), len(these)))
    return out


def _hbars(rows: list[tuple[str, float, str, str, dict]], title: str, label_w: int = 300) -> str:
    """Horizontal bars 0..1 of the width: (label, share, text at the bar's end, tooltip, data attributes)."""
    w, row_h, top = 1000, 30, 14
    h = top * 2 + row_h * max(len(rows), 3)
    full = w - label_w - 120
    body = []
    for n, (label, share, text, tip, data) in enumerate(rows):
        y = top + n * row_h
        length = full * max(min(share, 1.0), 0.0)
        attrs = "".join(f' data-{k}="{_e(v)}"' for k, v in data.items())
        short = label if len(label) <= 22 else label[:21] + "…"
        body.append(f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" font-size="13" '
                    f'fill="{INK}">{_e(short)}</text>'
                    f'<rect x="{label_w}" y="{y + 5:.1f}" width="{full:.1f}" height="{row_h - 10}" fill="#f5f5f5"/>'
                    f'<rect class="bar" x="{label_w}" y="{y + 5:.1f}" width="{max(length, 1):.1f}" '
                    f'height="{row_h - 10}" fill="{RED}"{attrs}><title>{_e(tip)}</title></rect>'
                    f'<text x="{label_w + length + 6:.1f}" y="{y + row_h / 2 + 4:.1f}" font-size="12" '
                    f'font-weight="bold" fill="{INK}">{_e(text)}</text>')
    if not rows:
        body.append(_empty(w, h))
    return _svg(w, h, title, body)


def fund_chart(funds: pj.FundList) -> str:
    """Per fund source: what was paid out of what was allocated."""
    rows = []
    for zh, en, allocated, drawn, count in fund_rows(funds):
        share = drawn / allocated if allocated else 0.0
        rows.append((f"{zh} {en}", share, f"{_yuan(drawn)} / {_yuan(allocated)} 元",
                     f"{zh} {en}: {count} 个资金 funds, 已支出 spent {_yuan(drawn)} 元 of {_yuan(allocated)} 元",
                     {"kind": en, "drawn": drawn, "allocated": allocated}))
    return _hbars(rows, "各资金来源支出 Spending per fund source")


def programme_chart(programmes: pj.ProgrammeList) -> str:
    """Per programme: its rolled-up progress (budget-weighted over its projects)."""
    rows = [(p.name, p.progress / 100, f"{p.progress}%",
             f"{p.name} ({p.start_year}-{p.end_year}): {p.progress}%, {p.projects} 个项目 projects, "
             f"支出 spent {_yuan(p.spent)} / {_yuan(p.budget)} 元", {"programme": p.id, "progress": p.progress})
            for p in programmes.programmes]
    return _hbars(rows, "各计划进度 Progress per programme")


def section(data: ProjectsData) -> str:
    spent = sum(f.drawn for f in data.funds.funds)
    allocated = sum(f.allocated for f in data.funds.funds)
    return f"""<section id="projects"><h2>项目与资金 <small>Projects and funds</small></h2>
<p class="note">资金按来源合计：已支出 / 已拨付（元）；共支出 {_yuan(spent)} 元，拨付 {_yuan(allocated)} 元。
Funds summed per source: paid out of allocated (yuan). Programmes: progress rolled up from their projects,
weighted by budget.</p>
{fund_chart(data.funds)}
<p class="note" style="border-top:1px solid {GOLD}; padding-top:6px">计划进度 Programme progress
<span style="color:{GREY}">({len(data.programmes.programmes)})</span></p>
{programme_chart(data.programmes)}</section>"""
