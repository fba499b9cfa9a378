"""SLA arithmetic on China's statutory calendar (no broker needed)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from redprop.services.ticketing.options import TicketingOptions
from redprop.services.ticketing.sla import Beijing12345Policy
from redprop.services.ticketing.workcalendar import CHINA, WorkingCalendar


def local(*args) -> datetime:
    return datetime(*args, tzinfo=CHINA)


@pytest.fixture
def policy() -> Beijing12345Policy:
    return Beijing12345Policy(TicketingOptions())


def test_a_general_ticket_filed_on_the_eve_of_national_day_waits_out_the_holiday(policy):
    # 2025: 1-8 October are holidays; Sunday 28 September and Saturday 11 October are working days.
    filed = local(2025, 9, 30, 10, 0)
    response_due, resolution_due = policy.deadlines("general", filed)
    # Response: one working day of 9 h: 8 h left on the 30th, then 1 h on Thursday 9 October.
    assert response_due.astimezone(CHINA) == local(2025, 10, 9, 10, 0)
    # Resolution: 7 working days (63 h): 30 Sep 8 h, 9/10/11 (Saturday worked) Oct 27 h, 13-15 Oct 27 h, 1 h on 16 Oct.
    assert resolution_due.astimezone(CHINA) == local(2025, 10, 16, 10, 0)


def test_a_ticket_filed_on_an_official_working_saturday_counts_that_saturday(policy):
    filed = local(2025, 10, 11, 10, 0)  # Saturday, an adjusted working day
    response_due, _ = policy.deadlines("general", filed)
    assert response_due.astimezone(CHINA) == local(2025, 10, 13, 10, 0)  # 8 h on Saturday, 1 h on Monday
    sunday = local(2025, 10, 12, 10, 0)
    response_due, _ = policy.deadlines("general", sunday)
    assert response_due.astimezone(CHINA) == local(2025, 10, 13, 18, 0)  # Sunday does not count


def test_emergencies_and_utilities_count_calendar_hours_through_holidays(policy):
    filed = local(2025, 10, 1, 23, 30)  # National Day, at night
    response_due, resolution_due = policy.deadlines("emergency", filed)
    assert resolution_due - filed == timedelta(hours=2)
    assert response_due - filed == timedelta(minutes=30)
    _, resolution_due = policy.deadlines("utilities", filed)
    assert resolution_due - filed == timedelta(hours=24)


def test_filing_after_hours_starts_the_clock_next_working_morning(policy):
    response_due, _ = policy.deadlines("general", local(2025, 9, 30, 20, 0))  # after hours, holiday next
    assert response_due.astimezone(CHINA) == local(2025, 10, 9, 18, 0)


def test_a_pause_moves_the_deadline_by_the_working_time_paused(policy):
    filed = local(2025, 10, 13, 9, 0)  # Monday
    _, due = policy.deadlines("general", filed)
    assert due.astimezone(CHINA) == local(2025, 10, 21, 18, 0)
    paused, resumed = local(2025, 10, 14, 9, 0), local(2025, 10, 15, 9, 0)  # one working day paused
    assert policy.extend("general", due, paused, resumed).astimezone(CHINA) == local(2025, 10, 22, 18, 0)


def test_working_time_between_two_moments():
    cal = WorkingCalendar()
    assert cal.between(local(2025, 9, 30, 17, 0), local(2025, 10, 9, 10, 0)) == timedelta(hours=2)
    assert cal.between(local(2025, 10, 9, 10, 0), local(2025, 9, 30, 17, 0)) == timedelta(0)


def test_years_without_statutory_data_fall_back_to_weekends_and_district_additions():
    cal = WorkingCalendar(time(9), time(18), extra_holidays=[date(2030, 1, 1)], extra_workdays=[date(2030, 1, 5)])
    assert not cal.is_workday(date(2030, 1, 1))    # added holiday (a Tuesday)
    assert cal.is_workday(date(2030, 1, 2))        # an ordinary Wednesday
    assert cal.is_workday(date(2030, 1, 5))        # an added working Saturday
    assert not cal.is_workday(date(2030, 1, 6))    # Sunday


def test_district_overrides_of_sla_terms_are_validated():
    from redprop.config import Settings
    from redprop.errors import ConfigError

    settings = Settings(services={"ticketing": {"options": {"sla": {"general": {
        "response_hours": 100, "resolution_hours": 10, "basis": "working"}}}}})
    with pytest.raises(ConfigError) as err:
        settings.service_options("ticketing", TicketingOptions)
    assert "services.ticketing.options.sla.general" in str(err.value)
    settings = Settings(services={"ticketing": {"options": {"sla": {"general": {
        "response_hours": 4, "resolution_hours": 18, "basis": "working"}}}}})
    policy = Beijing12345Policy(settings.service_options("ticketing", TicketingOptions))
    _, due = policy.deadlines("general", local(2025, 10, 13, 9, 0))
    assert due.astimezone(CHINA) == local(2025, 10, 14, 18, 0)
