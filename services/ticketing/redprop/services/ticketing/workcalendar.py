"""Working time on China's statutory calendar: holidays and the adjusted working days (调休).

chinese-calendar knows the State Council's schedule year by year, up to the year before its release
was made. A district loads a newer year's notice from a file (``services.ticketing.options.calendar_file``,
see ``holidaynotice.py``) the day it is published; its dates override the library. For a year neither
covers, weekends are rest days and a warning is logged, and the calendar's coverage is exposed (metric,
/readyz warning, daily log line) well before that happens. ``extra_holidays`` / ``extra_workdays`` are a
district's own adjustments and override both.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from redprop.services.ticketing.holidaynotice import HolidayNotice

log = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
_warned_years: set[int] = set()


@lru_cache(maxsize=4096)
def library_workday(day: date) -> bool | None:
    """chinese-calendar's answer, or None for a year it does not cover."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


@lru_cache(maxsize=1)
def library_years() -> frozenset[int]:
    """The years chinese-calendar covers (it raises NotImplementedError outside them)."""
    return frozenset(y for y in range(2000, 2101) if library_workday(date(y, 6, 1)) is not None)


def statutory_workday(day: date) -> bool:
    known = library_workday(day)
    if known is not None:
        return known
    if day.year not in _warned_years:
        _warned_years.add(day.year)
        log.warning("no statutory holiday data for %d: counting weekends only; load the State Council's "
                    "notice with services.ticketing.options.calendar_file", day.year)
    return day.weekday() < 5


class WorkingCalendar:
    """Adds and measures working time between aware datetimes, in local (China) time."""

    def __init__(self, start: time = time(9), end: time = time(18),
                 extra_holidays: list[date] = (), extra_workdays: list[date] = (),
                 notice: HolidayNotice | None = None):
        self.start, self.end = start, end
        self.holidays, self.workdays = set(extra_holidays), set(extra_workdays)
        self.notice = notice or HolidayNotice(source="none")
        self.day_length = datetime.combine(date.min, end) - datetime.combine(date.min, start)

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if day in self.notice.workdays:
            return True
        if day in self.notice.holidays:
            return False
        if day.year in self.notice.years and day.year not in library_years():
            return day.weekday() < 5  # the notice lists every exception of its year
        return statutory_workday(day)

    def covered_until(self, today: date) -> date:
        """The first day from ``today`` on that neither the library nor the notice covers."""
        covered = library_years() | self.notice.years
        year = today.year
        while year in covered:
            year += 1
        return date(year, 1, 1) if year > today.year else today

    def coverage_warning(self, today: date, warn_days: int) -> str | None:
        """A sentence for operators when the calendar runs out within ``warn_days``, else None."""
        until = self.covered_until(today)
        left = (until - today).days
        if left > warn_days:
            return None
        return (f"the working calendar covers days before {until.isoformat()} only ({left} days left): load the "
                f"State Council's holiday notice for {until.year} (services.ticketing.options.calendar_file)")

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
