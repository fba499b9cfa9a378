"""A running ticketing service tells operators how far its working calendar reaches: the metric,
a warning on /readyz (which stays ready), and a WARNING in its log."""

from __future__ import annotations

import logging
from datetime import datetime, time

import pytest

from redprop.services.ticketing.workcalendar import CHINA, library_years
from tests.shared.test_metrics import fetch, samples

pytestmark = pytest.mark.integration


def covered_until(port) -> float:
    return samples(fetch(port, "/metrics")[1])[("redprop_calendar_covered_until_timestamp_seconds", frozenset())]


def test_a_calendar_running_out_is_a_readiness_warning_a_metric_and_a_log_line(run_suite, caplog):
    # The library ends within a year of today (1.11.0 knows up to 2026), so 366 days warn.
    today = datetime.now(CHINA).date()
    assert max(library_years()) <= today.year
    with caplog.at_level(logging.WARNING, logger="redprop.services.ticketing.calendarwatch"):
        suite = run_suite("ticketing", services={"ticketing": {"options": {
            "sweep_interval": 3600, "calendar_warning_days": 366}}})
    port = suite.settings.metrics_port("ticketing")
    status, body = fetch(port, "/readyz")
    lines = body.strip().splitlines()
    assert status == 200 and lines[0] == "ready"  # the clocks still run: the pod stays in service
    assert lines[1].startswith("warning: the working calendar covers days before ")
    # The first day not covered: 1 January after the library's last year (today, once that has passed).
    first_uncovered = max(datetime(max(library_years()) + 1, 1, 1).date(), today)
    assert covered_until(port) == datetime.combine(first_uncovered, time(0), CHINA).timestamp()
    assert f"days before {first_uncovered.isoformat()} only" in lines[1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("the working calendar covers days before" in w for w in warnings)
    # The SLA-breach series the chart alerts on exist at 0 before any breach.
    values = samples(fetch(port, "/metrics")[1])
    for sla_class in ("emergency", "utilities", "general", "complex"):
        for deadline in ("response", "resolution"):
            key = ("redprop_ticketing_sla_breaches_total", frozenset({"deadline": deadline, "sla_class": sla_class}.items()))
            assert values[key] == 0, key


def test_a_loaded_notice_moves_the_metric_and_clears_the_warning(run_suite, tmp_path):
    # Notices for this year and the next two: the calendar reaches 1 January three years on.
    this_year = datetime.now(CHINA).year
    text = "".join(f"{y}:\n  holidays: [{y}-01-01]\n" for y in range(this_year, this_year + 3))
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    suite = run_suite("ticketing", services={"ticketing": {"options": {
        "sweep_interval": 3600, "calendar_file": str(path), "calendar_warning_days": 366}}})
    port = suite.settings.metrics_port("ticketing")
    assert fetch(port, "/readyz") == (200, "ready\n")
    expected = datetime.combine(datetime(this_year + 3, 1, 1).date(), time(0), CHINA).timestamp()
    assert covered_until(port) == expected
