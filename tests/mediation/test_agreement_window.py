"""The 30-day window for judicial confirmation (People's Mediation Law Art. 33) at its boundaries.

Counted on Beijing dates from the day the agreement takes effect, that day not counted (Civil Code
Art. 201); a period ending on a rest day or holiday ends on the next working day (Art. 203), on China's
statutory calendar. No broker or database: the policy alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from redprop.services.mediation.timelimits import (
    PeoplesMediationLaw,
    beijing_date,
    statutory_rest_day,
)

POLICY = PeoplesMediationLaw()


def window(effective_at: datetime) -> tuple[date, date]:
    return POLICY.confirmation_period(beijing_date(effective_at))


def test_an_agreement_reached_at_0210_beijing_counts_from_the_beijing_date():
    # 02:10 in Beijing on 12-02 is 18:10 UTC on 12-01: the UTC date gave 2026-12-31.
    effective_at = datetime(2026, 12, 1, 18, 10, tzinfo=UTC)
    assert beijing_date(effective_at) == date(2026, 12, 2)
    ends_on, confirm_by = window(effective_at)
    assert ends_on == date(2027, 1, 1)
    # New Year's Day, then a weekend: the period ends on Monday 2027-01-04 (Civil Code Art. 203).
    assert confirm_by == date(2027, 1, 4)


def test_the_beijing_midnight_is_the_boundary():
    last_second = datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Beijing on 12-01
    first_second = datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC)   # 00:00:00 in Beijing on 12-02
    assert window(last_second) == (date(2026, 12, 31), date(2026, 12, 31))  # a Thursday, a working day
    assert window(first_second) == (date(2027, 1, 1), date(2027, 1, 4))


def test_a_working_day_end_is_not_moved():
    assert POLICY.confirmation_period(date(2026, 11, 2)) == (date(2026, 12, 2), date(2026, 12, 2))


@pytest.mark.parametrize(("effective_on", "ends_on", "confirm_by"), [
    (date(2026, 10, 16), date(2026, 11, 15), date(2026, 11, 16)),  # a Sunday: the Monday
    (date(2026, 9, 1), date(2026, 10, 1), date(2026, 10, 8)),      # National Day: after the holiday
    (date(2026, 9, 7), date(2026, 10, 7), date(2026, 10, 8)),      # the holiday's last day
    (date(2026, 9, 8), date(2026, 10, 8), date(2026, 10, 8)),      # the first working day after it
    (date(2026, 8, 21), date(2026, 9, 20), date(2026, 9, 20)),     # a Sunday moved to a working day (调休)
])
def test_a_period_ending_on_a_rest_day_ends_on_the_next_working_day(effective_on, ends_on, confirm_by):
    assert POLICY.confirmation_period(effective_on) == (ends_on, confirm_by)


def test_a_year_the_calendar_does_not_cover_keeps_the_fixed_date_holidays():
    # chinese-calendar 1.11 stops at 2026; 2027's New Year, Labour Day and National Day are fixed by law.
    assert statutory_rest_day(date(2027, 1, 1)) and statutory_rest_day(date(2027, 10, 3))
    assert statutory_rest_day(date(2027, 1, 9))        # a Saturday
    assert not statutory_rest_day(date(2027, 1, 5))    # a Tuesday
    # Without the notice the moved days are unknown: the week-long holiday shows as its fixed three days.
    assert POLICY.confirmation_period(date(2027, 9, 1)) == (date(2027, 10, 1), date(2027, 10, 4))


def test_the_confirmation_reminder_runs_to_the_end_of_the_beijing_day():
    from redprop.services.mediation.reminders import end_of_beijing_day

    assert end_of_beijing_day(date(2027, 1, 4)) == datetime(2027, 1, 4, 15, 59, 59, tzinfo=UTC)
