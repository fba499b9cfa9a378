"""The agreement as a printable document (人民调解协议书): from the running service with the CLI, and rendered
alone at the holiday boundary of its confirmation window."""

from __future__ import annotations

from argparse import Namespace
from datetime import UTC, date, datetime

import pytest

from redprop.contracts import mediation as c
from redprop.services.mediation.agreement_document import render
from redprop.services.mediation.cli import cmd_agreement
from tests.mediation.test_agreement import COMPANY, rid, sign, suite, written  # noqa: F401 - the fixture

ME = {"kind": "person", "id": "O-EQ1", "name": "张<三>", "address": "阳光小区EQ幢1室"}


@pytest.mark.integration
def test_the_cli_writes_the_draft_to_sign_then_the_agreement_in_effect(suite, tmp_path, capsys):  # noqa: F811
    rpc = suite.rpc
    case = rpc.mediation.open_case(actor="STAFF", category="leak", summary="漏水纠纷", parties=[ME, COMPANY], level="grid",
                                   scope_id="G1", request_id=rid(), opened_at="2026-10-10T00:00:00+00:00").case
    out = tmp_path / "agreement.html"
    args = Namespace(case=case.id, out=str(out), timeout=None, viewer="GH1")  # printed by its mediator
    assert cmd_agreement(args, suite.settings) == 1 and "no agreement" in capsys.readouterr().out

    rpc.mediation.assign_mediators(actor="STAFF", case_id=case.id, kinds=["grid_head"], request_id=rid())
    rpc.mediation.conclude_case(actor="STAFF", case_id=case.id, request_id=rid(), outcome=written(),
                                concluded_at="2026-10-19T08:00:00+00:00")
    assert cmd_agreement(args, suite.settings) == 0
    draft = out.read_text(encoding="utf-8")
    assert "人民调解协议书" in draft and "草稿" in draft and "人民调解委员会印章" in draft
    assert "张&lt;三&gt;" in draft and "<三>" not in draft  # escaped
    for text in ("阳光小区EQ幢1室", "吊顶维修费用由谁承担", "公共管道失修，负全部责任", "赔偿维修费800元", "银行转账"):
        assert text in draft

    for actor, role, at in (("O-EQ1", "party", "09:00"), ("O-S1", "party", "10:00"), ("GH1", "mediator", "11:00"),
                            ("GH1", "committee", "17:00")):
        sign(rpc, case.id, actor, role, signed_at=f"2026-10-20T{at}:00+00:00")
    assert cmd_agreement(args, suite.settings) == 0
    final = out.read_text(encoding="utf-8")
    assert "草稿" not in final
    assert "生效日期：2026年10月21日" in final and "即 2026年11月20日 前" in final
    assert "2026年10月21日 01:00" in final  # the committee's seal, in Beijing time
    assert "第三十三条" in final and "顺延" not in final
    # Printed by someone who may not see the parties' particulars (a resident with no post): masked (2.4).
    assert cmd_agreement(Namespace(case=case.id, out=str(out), timeout=None, viewer="O-S1-NOT"), suite.settings) == 0
    assert "阳光小区EQ幢1室" not in out.read_text(encoding="utf-8") and "阳光小区EQ****" in out.read_text(encoding="utf-8")


def _settled(effective_at: datetime, effective_on: date, ends_on: date, confirm_by: date) -> c.CaseInfo:
    content = {"kind": "agreement", "form": "oral", "facts": "噪音", "oral_record": "晚十点后不装修",
               "matters": [], "responsibilities": [],
               "terms": [{"text": "停工", "performer_id": "A", "method": "自行遵守", "due_on": "2030-01-01"}]}
    return c.CaseInfo(
        district="990001", id="K1", category="noise", summary="噪音纠纷", description="", level="grid", scope_id="G1",
        source="direct", parties=[{"kind": "person", "id": "A", "name": "甲"}, {"kind": "person", "id": "B"}],
        attachments=[], state="settled", opened_at=effective_at, settle_by=effective_at, concluded_at=effective_at,
        outcome=content, confirm_by=confirm_by,
        agreement=c.AgreementInfo(form="oral", content=content, drafted_at=effective_at, effective_at=effective_at,
                                  effective_on=effective_on, confirm_period_ends_on=ends_on, confirm_by=confirm_by))


def test_an_oral_agreement_prints_as_the_mediators_record_and_says_when_the_window_was_moved():
    moved = render(_settled(datetime(2026, 12, 1, 18, 10, tzinfo=UTC), date(2026, 12, 2), date(2027, 1, 1),
                            date(2027, 1, 4)))
    assert "口头调解协议记录" in moved and "晚十点后不装修" in moved and "第二十八条" in moved
    assert "即 2027年1月4日 前" in moved and "2027年1月1日 为法定休假日，顺延" in moved
    assert "签名、盖章" not in moved  # an oral agreement is not signed
