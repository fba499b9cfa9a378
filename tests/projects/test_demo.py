"""The projects demo story runs through the published contracts on the sample district, in the demo's order."""

from __future__ import annotations

from pathlib import Path

import pytest

from redprop.cli.demo import DemoContext, demo_steps
from redprop.testing.suite import Suite

pytestmark = pytest.mark.integration

NEEDED = ("registry", "ticketing", "mediation", "projects", "evaluation")


def test_the_demo_tells_the_programme_and_the_emergency_fund_running_out(make_settings, tmp_path, capsys):
    settings = make_settings(list(NEEDED))
    steps = [(order, name, step) for order, name, step in demo_steps()
             if name in ("registry", "ticketing", "projects_funds", "projects", "evaluation-report")]
    for _order, _name, step in steps:
        if getattr(step, "configure", None):
            settings = step.configure(settings)
    with Suite(settings, list(NEEDED)) as suite:
        ctx = DemoContext(settings=settings, rpc=suite.rpc, config_file=tmp_path / "redprop.yaml")
        for _order, _name, step in steps:
            step(ctx)
        out = capsys.readouterr().out
        assert "三年行动计划 2022-2024" in out and "before its hearing is refused" in out
        assert "-> closed; spent 1,186,000.00 of 1,200,000.00 yuan" in out and "awaiting community and subdistrict" in out and "refused" in out
        ledger = suite.rpc.projects.ledger(fund_id="EM-ZQ-EC").movements
        assert [m.status for m in ledger if m.kind == "draw"] == ["paid", "paid"]  # the third could not be paid
        assert suite.rpc.projects.get_fund(fund_id="EM-ZQ-EC").fund.balance == 600_000 - 49_300 - 518_000
        # Ticketing's own leak (order 20) drew from Jiahe Jingyuan's fund.
        assert suite.rpc.projects.ledger(fund_id="EM-ZQ-JHJY", serves_kind="ticket").total == 1
        # The district report that follows shows the projects section (evaluation's demo step, order 75).
        assert "District report with 项目与资金 Projects and funds" in out
        page = (Path(settings.data_dir) / "evaluation-report.html").read_text(encoding="utf-8")
        assert 'id="projects"' in page and 'data-programme="' in page and 'data-kind="emergency repair"' in page
