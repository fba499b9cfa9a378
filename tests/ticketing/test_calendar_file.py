"""The working calendar as operated data: a State Council notice loaded from a file, its checks, and
the calendar's coverage at the boundary of what chinese-calendar knows (no broker needed)."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta

import pytest

from redprop.config import load_settings
from redprop.errors import ConfigError
from redprop.services.ticketing.holidaynotice import NoticeError, load_notice
from redprop.services.ticketing.options import TicketingOptions
from redprop.services.ticketing.sla import Beijing12345Policy
from redprop.services.ticketing.workcalendar import CHINA, WorkingCalendar, library_years

# An example notice for 2027 (the dates are the test's, not the State Council's): New Year on Friday 1
# January with the weekend, a Spring Festival week, and Saturday 20 February worked instead (调休).
NOTICE_2027 = """\
2027:
  notice: example notice for the tests
  holidays:
    - 2027-01-01..2027-01-03
    - 2027-02-05..2027-02-12
  workdays:
    - 2027-02-20
"""

LAST_LIBRARY_YEAR = max(library_years())


def local(*args) -> datetime:
    return datetime(*args, tzinfo=CHINA)


def write(tmp_path, text: str, name: str = "calendar.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def notice_file(tmp_path):
    return write(tmp_path, NOTICE_2027)


def test_the_library_stops_where_the_file_must_start():
    # chinese-calendar 1.11.0 (the newest on the index) knows up to 2026; if a newer one is pinned this
    # test says so, and the example year above must move on.
    assert LAST_LIBRARY_YEAR == 2026
    cal = WorkingCalendar()
    assert cal.covered_until(date(2026, 12, 1)) == date(2027, 1, 1)


def test_boundary_without_a_file_last_covered_day_and_first_uncovered_day(caplog):
    cal = WorkingCalendar()
    assert cal.is_workday(date(2026, 12, 31))  # Thursday, from the library
    assert cal.is_workday(date(2026, 10, 10))  # a working Saturday the library knows
    with caplog.at_level(logging.WARNING, logger="redprop.services.ticketing.workcalendar"):
        # New Year's Day 2027 is a Friday: with no data it counts as a working day, and that is logged.
        assert cal.is_workday(date(2027, 1, 1))
    assert any("no statutory holiday data for 2027" in r.getMessage() for r in caplog.records)
    assert cal.coverage_warning(date(2026, 12, 1), 60).startswith(
        "the working calendar covers days before 2027-01-01 only (31 days left)")
    assert cal.coverage_warning(date(2026, 11, 1), 60) is None  # 61 days left: not yet
    assert cal.coverage_warning(date(2026, 11, 2), 60) is not None  # 60 days left


def test_a_loaded_notice_covers_its_year_with_its_adjusted_working_saturday(notice_file):
    options = TicketingOptions(calendar_file=notice_file)
    cal = WorkingCalendar(notice=options.notice)
    assert cal.is_workday(date(2026, 12, 31))
    assert not cal.is_workday(date(2027, 1, 1))  # holiday from the file
    assert cal.is_workday(date(2027, 1, 4))  # an ordinary Monday of a covered year
    assert not cal.is_workday(date(2027, 2, 8))  # a Monday in the Spring Festival week
    assert cal.is_workday(date(2027, 2, 20))  # Saturday worked (调休)
    assert not cal.is_workday(date(2027, 2, 21))  # the Sunday after is not
    assert cal.covered_until(date(2026, 12, 1)) == date(2028, 1, 1)
    assert cal.coverage_warning(date(2026, 12, 1), 60) is None
    assert cal.coverage_warning(date(2027, 11, 15), 60).startswith("the working calendar covers days before 2028-01-01")


def test_sla_deadlines_use_the_loaded_notice(notice_file):
    policy = Beijing12345Policy(TicketingOptions(calendar_file=notice_file))
    # Thursday 31 December 2026 at 17:00: 1 h that day, then nothing until Monday 4 January 2027.
    response_due, _ = policy.deadlines("general", local(2026, 12, 31, 17, 0))
    assert response_due.astimezone(CHINA) == local(2027, 1, 4, 17, 0)
    # Friday 19 February 17:00: 1 h, then the working Saturday 20th counts its 8 h.
    response_due, _ = policy.deadlines("general", local(2027, 2, 19, 17, 0))
    assert response_due.astimezone(CHINA) == local(2027, 2, 20, 17, 0)
    # Without the file the same ticket would be due on Monday 22nd: the file changed the answer.
    plain = Beijing12345Policy(TicketingOptions())
    assert plain.deadlines("general", local(2027, 2, 19, 17, 0))[0].astimezone(CHINA) == local(2027, 2, 22, 17, 0)


def test_file_dates_override_the_library_and_options_override_the_file(tmp_path):
    # 10 October 2026 is a working Saturday in the library; a correction in the file makes it a rest day.
    path = write(tmp_path, "2026:\n  holidays: [2026-10-10]\n  workdays: [2026-10-11]\n")
    options = TicketingOptions(calendar_file=path, extra_workdays=[date(2026, 10, 10)])
    cal = WorkingCalendar(extra_workdays=options.extra_workdays, notice=options.notice)
    assert cal.is_workday(date(2026, 10, 10))  # the district's own option wins
    assert cal.is_workday(date(2026, 10, 11))  # Sunday made a workday by the file
    assert not WorkingCalendar(notice=options.notice).is_workday(date(2026, 10, 10))
    assert WorkingCalendar(notice=options.notice).is_workday(date(2026, 10, 9))  # unlisted: the library's answer


def test_json_files_load_too(tmp_path):
    path = write(tmp_path, json.dumps({"2027": {"holidays": ["2027-01-01"], "workdays": []}}), "calendar.json")
    assert load_notice(path).holidays == {date(2027, 1, 1)}


@pytest.mark.parametrize(("text", "message"), [
    ("2027:\n  holidays: [2027-01-01, 2027-01-01]\n",
     "year 2027 holidays entry 2 (2027-01-01): 2027-01-01 is already given as year 2027 holidays entry 1"),
    ("2027:\n  holidays: [2027-02-05..2027-02-12]\n  workdays: [2027-02-08]\n",
     "year 2027 workdays entry 1 (2027-02-08): 2027-02-08 is already given as year 2027 holidays entry 1"),
    ("2027:\n  holidays: []\n  workdays: []\n", "year 2027 has no holidays and no workdays"),
    ("2027: {}\n", "year 2027 has no holidays and no workdays"),
    ("2027:\n  holidays: [2027-02-30]\n", "year 2027 holidays entry 1 (2027-02-30): not a date"),
    ("2027:\n  holidays: [tomorrow]\n", "year 2027 holidays entry 1 (tomorrow): not a date"),
    ("2027:\n  holidays: [2028-01-01]\n", "year 2027 holidays entry 1 (2028-01-01): 2028-01-01 is not in 2027"),
    ("2027:\n  holidays: [2027-02-12..2027-02-05]\n", "the range ends before it starts"),
    ("2027:\n  holidays: [2027-01-01..2027-03-01]\n", "a range longer than 31 days"),
    ("2027:\n  holiday: [2027-01-01]\n", "year 2027: unknown key 'holiday'"),
    ("twenty:\n  holidays: [2027-01-01]\n", "'twenty' is not a year"),
    ("2027:\n  holidays: 2027-01-01\n", "year 2027 holidays: must be a list of dates"),
    ("[2027-01-01]\n", "must map each year to its holidays and workdays"),
    ("2027: [unclosed\n", "not valid YAML"),
])
def test_a_wrong_file_is_refused_naming_the_entry(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(NoticeError) as err:
        load_notice(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_a_wrong_or_missing_file_stops_start_up_naming_the_setting(tmp_path):
    bad = write(tmp_path, "2027:\n  holidays: [2027-02-30]\n")
    settings = load_settings(services={"ticketing": {"options": {"calendar_file": str(bad)}}})
    with pytest.raises(ConfigError) as err:
        settings.service_options("ticketing", TicketingOptions)
    text = str(err.value)
    assert "setting 'services.ticketing.options.calendar_file'" in text and "entry 1 (2027-02-30)" in text
    missing = load_settings(services={"ticketing": {"options": {"calendar_file": str(tmp_path / "nope.yaml")}}})
    with pytest.raises(ConfigError, match="cannot be read"):
        missing.service_options("ticketing", TicketingOptions)


def test_the_warning_threshold_is_an_option():
    with pytest.raises(ValueError):
        TicketingOptions(calendar_warning_days=0)
    cal = WorkingCalendar()
    today = date(2027, 1, 1) - timedelta(days=90)
    assert cal.coverage_warning(today, TicketingOptions(calendar_warning_days=90).calendar_warning_days)
    assert cal.coverage_warning(today, TicketingOptions().calendar_warning_days) is None


def test_the_watch_warns_at_start_and_then_once_a_day(caplog):
    from redprop.services.ticketing.calendarwatch import CalendarWatch

    watch = CalendarWatch(TicketingOptions(), server=None)
    with caplog.at_level(logging.WARNING, logger="redprop.services.ticketing.calendarwatch"):
        watch.check(local(2026, 12, 1, 8, 0))
        watch.check(local(2026, 12, 1, 23, 59))  # the same day in China: no second line
        watch.check(local(2026, 12, 2, 0, 1))  # the next day: again
        watch.check(local(2026, 10, 1, 9, 0))  # 92 days left: no warning that day
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert "(31 days left)" in warnings[0] and "(30 days left)" in warnings[1]
