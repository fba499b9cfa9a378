"""What the chart gives operators: the working calendar (`calendar.years` becomes calendar.yaml in the
ConfigMaps, ticketing's options name it, the service accepts what the chart writes, and the alert fires
before the calendar runs out), the error-rate alert on server faults only, and JSON logs."""

from __future__ import annotations

import re
from datetime import date

import helm_python
import pytest
import yaml

from redprop.metrics import SERVER_FAULTS, known_outcomes
from redprop.services.ticketing.holidaynotice import load_notice
from redprop.services.ticketing.options import TicketingOptions
from redprop.services.ticketing.workcalendar import WorkingCalendar
from tests.chart.chartlib import (
    CHART_DIR,
    MINIMAL,
    OPERATOR_APIS,
    chart,
    loadable_settings,
    merged,
    of_kind,
    render,
)

NOTICE = {"2027": {"notice": "example notice", "holidays": ["2027-01-01..2027-01-03", "2027-02-05..2027-02-12"],
                   "workdays": ["2027-02-20"]}}


def config_maps(values):
    return {m.doc["metadata"]["name"]: m.doc["data"] for m in of_kind(render(values), "ConfigMap")
            if "redprop.yaml" in m.doc.get("data", {})}


def test_without_notices_there_is_no_calendar_file():
    for data in config_maps(MINIMAL).values():
        assert "calendar.yaml" not in data
        assert "options" not in yaml.safe_load(data["redprop.yaml"])["services"]["ticketing"]
    # The chart's default is the service's, so the alert and the service's own warning agree.
    assert yaml.safe_load((CHART_DIR / "values.yaml").read_text())["calendar"]["warningDays"] == \
        TicketingOptions().calendar_warning_days
    for data in config_maps(merged(MINIMAL, {"calendar": {"warningDays": 30}})).values():
        assert yaml.safe_load(data["redprop.yaml"])["services"]["ticketing"]["options"] == {"calendar_warning_days": 30}


def test_notices_from_values_reach_ticketing_as_a_file_it_accepts(tmp_path):
    values = merged(MINIMAL, {"calendar": {"years": NOTICE, "warningDays": 90}})
    maps = config_maps(values)
    assert len(maps) == 2  # the services' ConfigMap and the migration Job's (config --check reads the file too)
    for data in maps.values():
        settings = yaml.safe_load(data["redprop.yaml"])
        options = settings["services"]["ticketing"]["options"]
        # The ConfigMap is mounted at /etc/redprop (see _helpers.tpl redprop.volumeMounts).
        assert options["calendar_file"] == "/etc/redprop/calendar.yaml"
        assert options["calendar_warning_days"] == 90
        written = tmp_path / "calendar.yaml"
        written.write_text(data["calendar.yaml"], encoding="utf-8")
        parsed = TicketingOptions.model_validate({**options, "calendar_file": str(written)})
        cal = WorkingCalendar(notice=parsed.notice)
        assert cal.is_workday(date(2027, 2, 20)) and not cal.is_workday(date(2027, 2, 8))
        assert cal.covered_until(date(2026, 12, 1)) == date(2028, 1, 1)
        assert load_notice(written).notices == {2027: "example notice"}
    # A changed notice changes redprop.yaml (its checksum restarts the pods).
    other = merged(MINIMAL, {"calendar": {"years": {"2027": {"holidays": ["2027-01-01"]}}}})
    assert {n: d["redprop.yaml"] for n, d in config_maps(other).items()} != {
        n: d["redprop.yaml"] for n, d in maps.items()}


@pytest.mark.parametrize(("bad", "expected"), [
    ({"years": {"2027": {"holidays": ["1 January"]}}}, "/calendar/years/2027/holidays/0"),
    ({"years": {"2027": {"holiday": ["2027-01-01"]}}}, "additional properties 'holiday' not allowed"),
    ({"years": {"next": {"holidays": ["2027-01-01"]}}}, "additional properties 'next' not allowed"),
    ({"warningDays": 0}, "/calendar/warningDays"),
])
def test_schema_refuses_malformed_notices(bad, expected):
    with pytest.raises(helm_python.HelmValuesError) as caught:
        chart().validate_schema(merged(MINIMAL, {"calendar": bad}))
    assert expected in str(caught.value)


def alerts(values):
    (rule,) = of_kind(render(values, api_versions=OPERATOR_APIS, namespace="redprop-310101"), "PrometheusRule")
    return {r["alert"]: r for g in rule.doc["spec"]["groups"] for r in g["rules"]}


def test_the_calendar_alert_fires_warning_days_before_it_runs_out():
    rule = alerts(merged(MINIMAL, {"calendar": {"warningDays": 45}}))["RedpropWorkingCalendarRunsOut"]
    assert "redprop_calendar_covered_until_timestamp_seconds" in rule["expr"]
    assert rule["expr"].endswith("< 45") and "- time()) / 86400" in rule["expr"]
    assert rule["labels"]["severity"] == "warning"
    # The city release runs no ticketing: no calendar, no alert.
    city = merged(MINIMAL, {"services": {"ticketing": {"enabled": False}}})
    assert "RedpropWorkingCalendarRunsOut" not in alerts(city)


def test_the_error_rate_alert_counts_exactly_the_server_faults():
    expr = alerts(MINIMAL)["RedpropHighErrorRate"]["expr"]
    (regex,) = re.findall(r'outcome=~"([^"]+)"', expr)
    counted = {o for o in known_outcomes() + ["replayed"] if re.fullmatch(regex, o)}
    assert counted == set(SERVER_FAULTS)
    assert not counted & {"success", "replayed", "validation_failed", "not_found", "conflict", "permission_denied"}


def test_log_format_reaches_the_settings_file_and_the_settings_accept_it():
    from redprop.config import Settings

    for fmt in ("text", "json"):
        for data in config_maps(merged(MINIMAL, {"config": {"logFormat": fmt}})).values():
            settings = yaml.safe_load(data["redprop.yaml"])
            assert settings["log_format"] == fmt
            assert Settings(**loadable_settings(settings)).log_format == fmt
    with pytest.raises(helm_python.HelmValuesError) as caught:
        chart().validate_schema(merged(MINIMAL, {"config": {"logFormat": "xml"}}))
    assert "/config/logFormat" in str(caught.value)
