"""The mediation agreement as a printable Chinese document (人民调解协议书), one self-contained HTML file.

Laid out in the order of People's Mediation Law Art. 29: the parties' particulars; the main facts, the
disputed matters and each party's responsibility; the content agreed with how and when it is performed;
the signatures of the parties and the mediator and the committee's seal; then when it took effect
(Art. 30) and the window for judicial confirmation (Art. 33). An oral agreement prints as the
mediator's record of it (Art. 28). Times are Beijing times. Everything shown is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from redprop.contracts import mediation as c
from redprop.services.mediation.timelimits import BEIJING

KIND_ZH = {"household": "住户", "person": "自然人", "company": "企业", "committee": "委员会", "organisation": "组织"}
METHOD_ZH = {"signature": "签名", "seal": "盖章", "fingerprint": "按指印"}
COURT_ZH = {"pending": "审查中", "confirmed": "已裁定确认有效", "rejected": "已裁定驳回", "withdrawn": "已撤回申请"}
STYLE = """
@page { size: A4; margin: 20mm 18mm; }
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; color: #111; max-width: 170mm;
       margin: 0 auto; line-height: 1.8; font-size: 12pt; }
h1 { text-align: center; font-size: 20pt; letter-spacing: 0.3em; margin: 0.6em 0 0.2em; }
.no { text-align: right; margin: 0 0 1em; }
h2 { font-size: 13pt; margin: 1.2em 0 0.3em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #666; padding: 0.2em 0.5em; vertical-align: top; text-align: left; }
.draft { border: 2px solid #b00; color: #b00; padding: 0.4em 0.8em; margin: 1em 0; }
.signatures td { height: 2.4em; }
.foot { margin-top: 1.5em; font-size: 10.5pt; color: #333; }
@media print { .draft { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""


def _e(value) -> str:
    return escape("" if value is None else str(value))


def _beijing(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(BEIJING).strftime("%Y年%m月%d日 %H:%M")


def _day(day) -> str:
    return "" if day is None else f"{day.year}年{day.month}月{day.day}日"


def render(case: c.CaseInfo, committee: str | None = None) -> str:
    """The agreement of ``case``, drafted (to be signed: marked as a draft) or in effect."""
    if case.agreement is None:
        raise ValueError(f"case {case.id} has no agreement")
    return _html(case, case.agreement, case.agreement.content, committee or "人民调解委员会")


def _html(case: c.CaseInfo, agreement: c.AgreementInfo, content: dict, committee: str) -> str:
    names = {p.id: p.name or p.id for p in case.parties}
    oral = agreement.form == "oral"
    title = "口头调解协议记录" if oral else "人民调解协议书"
    parts = [f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(title)} {_e(case.id)}'
             f"</title><style>{STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1>", f'<p class="no">编号：{_e(case.id)}　　{_e(committee)}</p>']
    if agreement.effective_at is None:
        missing = "、".join(_missing_zh(m, names) for m in agreement.missing)
        parts.append(f'<p class="draft">草稿：尚未生效。待签名或盖章：{_e(missing)}（《人民调解法》第二十九条、第三十条）</p>')

    parts.append("<h2>一、当事人基本情况</h2><table><tr><th>当事人</th><th>类别</th><th>住所 / 地址</th>"
                 "<th>身份证件 / 统一社会信用代码</th><th>联系电话</th><th>代表人</th></tr>")
    for p in case.parties:
        parts.append(f"<tr><td>{_e(p.name or p.id)}</td><td>{_e(KIND_ZH.get(p.kind, p.kind))}</td>"
                     f"<td>{_e(p.address)}</td><td>{_e(p.identity)}</td><td>{_e(p.phone)}</td>"
                     f"<td>{_e(p.representative_id)}</td></tr>")
    parts.append("</table>")

    parts.append(f"<h2>二、纠纷的主要事实、争议事项以及各方当事人的责任</h2><p>{_e(content.get('facts'))}</p>")
    if content.get("matters"):
        parts.append("<p>争议事项：</p><ol>" + "".join(f"<li>{_e(m)}</li>" for m in content["matters"]) + "</ol>")
    if content.get("responsibilities"):
        parts.append("<p>各方当事人的责任：</p><ul>" + "".join(
            f"<li>{_e(names.get(r['party_id'], r['party_id']))}：{_e(r['text'])}</li>"
            for r in content["responsibilities"]) + "</ul>")

    parts.append("<h2>三、经调解，当事人自愿达成如下协议</h2>")
    if oral and content.get("oral_record"):
        parts.append(f"<p>协议内容（人民调解员记录，《人民调解法》第二十八条）：{_e(content['oral_record'])}</p>")
    parts.append("<table><tr><th>序号</th><th>协议内容</th><th>履行人</th><th>履行方式</th><th>履行期限</th></tr>")
    for n, t in enumerate(content.get("terms", []), 1):
        due = t.get("due_on", "")
        parts.append(f"<tr><td>{n}</td><td>{_e(t['text'])}</td><td>{_e(names.get(t['performer_id'], t['performer_id']))}"
                     f"</td><td>{_e(t['method'])}</td><td>{_e(due)}</td></tr>")
    parts.append("</table>")

    if not oral:
        parts.append("<h2>四、签名、盖章</h2><table class=\"signatures\"><tr><th>签署人</th><th>方式</th>"
                     "<th>时间（北京时间）</th></tr>")
        for s in agreement.signatures:
            who = {"party": f"当事人：{names.get(s.signer_id, s.signer_id)}",
                   "mediator": f"人民调解员：{s.signer_id}",
                   "committee": f"{committee}（印章，由调解员 {s.signer_id} 加盖）"}[s.role]
            parts.append(f"<tr><td>{_e(who)}</td><td>{_e(METHOD_ZH.get(s.method, s.method))}</td>"
                         f"<td>{_e(_beijing(s.signed_at))}</td></tr>")
        parts.append("</table>")

    parts.append("<h2>{}、生效与司法确认</h2>".format("四" if oral else "五"))
    if agreement.effective_at is not None:
        basis = ("口头调解协议自各方当事人达成协议之日起生效" if oral else
                 "本协议自各方当事人签名、盖章或者按指印，人民调解员签名并加盖人民调解委员会印章之日起生效")
        parts.append(f"<p>{basis}（《人民调解法》第三十条）。生效日期：{_e(_day(agreement.effective_on))}。</p>")
        moved = ("" if agreement.confirm_by == agreement.confirm_period_ends_on else
                 f"（期间届满日 {_e(_day(agreement.confirm_period_ends_on))} 为法定休假日，顺延至其后的第一个工作日，"
                 "《民法典》第二百零三条）")
        parts.append(f"<p>双方当事人认为有必要的，可以自本协议生效之日起三十日内，即 {_e(_day(agreement.confirm_by))} "
                     f"前，共同向人民法院申请司法确认{moved}（《人民调解法》第三十三条）。</p>")
    ca = agreement.court_application
    if ca is not None:
        ruling = f"，{_e(_day(ca.decided_on))} {_e(COURT_ZH[ca.outcome])}" if ca.decided_on else f"，{COURT_ZH['pending']}"
        number = f"（{_e(ca.ruling_no)}）" if ca.ruling_no else ""
        parts.append(f"<p>司法确认：{_e('、'.join(names.get(a, a) for a in ca.applicants))} 于 {_e(_day(ca.applied_on))} "
                     f"共同向 {_e(ca.court)} 申请{ruling}{number}。</p>")
    parts.append(f'<p class="foot">本协议书一式 {len(case.parties) + 1} 份，当事人各执一份，人民调解委员会留存一份。'
                 f"案件 {_e(case.id)}，{_e(case.summary)}。</p></body></html>")
    return "".join(parts)


def _missing_zh(need: str, names: dict[str, str]) -> str:
    if need.startswith("party:"):
        party = need.split(":", 1)[1]
        return f"当事人{names.get(party, party)}"
    return {"mediator": "人民调解员", "committee": "人民调解委员会印章"}.get(need, need)
