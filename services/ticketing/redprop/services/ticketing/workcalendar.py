"""Working time on China's statutory calendar: holidays and the adjusted working days (调休).

chinese-calendar knows the State Council's schedule year by year. For a year it does not cover yet,
weekends are rest days and a warning is logged; districts can add days in settings
(``extra_holidays`` / ``extra_workdays``) as soon as the schedule is published.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
_warned_years: set[int] = set()


@lru_cache(maxsize=4096)
def statutory_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("no statutory holiday data for %d: counting weekends only; add "
                        "services.ticketing.options.extra_holidays when the schedule is published", day.year)
        return day.weekday() < 5


class WorkingCalendar:
    """Adds and measures working time between aware datetimes, in local (China) time."""

    def __init__(self, start: time = time(9), end: time = time(18),
                 extra_holidays: list[date] = (), extra_workdays: list[date] = ()):
        self.start, self.end = start, end
        self.holidays, self.workdays = set(extra_holidays), set(extra_workdays)
        self.day_length = datetime.combine(date.min, end) - datetime.combine(date.min, start)

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return statutory_workday(day)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        return (datetime.combine(day, self.start, CHINA), datetime.combine(day, self.end, CHINA))

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of working time after ``moment``."""
        remaining = duration
        local = moment.astimezone(CHINA)
        day = local.date()
        for _ in range(3660):  # at most ten years of days: a bound, never reached in practice
            if self.is_workday(day):
                opens, closes = self._window(day)
                begin = max(local, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
            local = datetime.combine(day, time(0), CHINA)
        raise ValueError(f"cannot add {duration} of working time to {moment}")

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from ``a`` to ``b`` (zero if b is not after a)."""
        if b <= a:
            return timedelta(0)
        total = timedelta(0)
        la, lb = a.astimezone(CHINA), b.astimezone(CHINA)
        day = la.date()
        while day <= lb.date():
            if self.is_workday(day):
                opens, closes = self._window(day)
                begin, finish = max(la, opens), min(lb, closes)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total
