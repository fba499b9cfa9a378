"""Extension point ``mediation.time_limits``: how long a case may take, and the other legal windows.

The default follows the People's Mediation Law and Shanghai practice: settle within 30 days, warn 5 days
before; parties may seek court confirmation of an agreement within 30 days; a consultation's result is
posted within 3 days of closing. A district with other limits ships its own policy.

Periods in days are counted on Beijing (Asia/Shanghai) dates, the start day not counted (Civil Code
Art. 201), and a period whose last day is a rest day or a statutory holiday ends on the next working day
(Art. 203), on China's statutory calendar (chinese-calendar, as ticketing's SLA clocks use).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from redprop.plugins import ExtensionPoint

log = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")
#: The holidays on fixed dates of the national holiday rules (全国年节及纪念日放假办法, as amended in 2024):
#: New Year's Day, Labour Day (two days) and National Day (three days). For a year chinese-calendar does
#: not cover yet they are known anyway; the moved rest days (调休) of such a year are not.
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})
_warned_years: set[int] = set()


def beijing_date(moment: datetime) -> date:
    """The calendar date in Beijing of an aware instant (a UTC evening is the next Beijing morning)."""
    return moment.astimezone(BEIJING).date()


@lru_cache(maxsize=4096)
def statutory_rest_day(day: date) -> bool:
    """A weekend or holiday on China's statutory calendar (a moved working Saturday is a working day)."""
    try:
        return not chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("no statutory holiday data for %d: rest days are weekends and the fixed-date holidays",
                        day.year)
        return day.weekday() >= 5 or (day.month, day.day) in FIXED_HOLIDAYS


class TimeLimitPolicy(ABC):
    """Interface: the time limits of cases and consultations."""

    @abstractmethod
    def settle_within(self, category: str, level: str) -> timedelta:
        """How long a case of this category at this level may stay unsettled."""

    def warn_before(self) -> timedelta:
        return timedelta(days=5)

    def court_confirmation_within(self) -> timedelta:
        return timedelta(days=30)

    def publish_within(self) -> timedelta:
        return timedelta(days=3)

    def rest_day(self, day: date) -> bool:
        """Whether a period cannot end on ``day`` (Civil Code Art. 203); a district may add its own days."""
        return statutory_rest_day(day)

    def confirmation_period(self, effective_on: date) -> tuple[date, date]:
        """(the period's last day, the last day to apply) for judicial confirmation (Mediation Law Art. 33).

        "Within 30 days from the date the agreement takes effect": the effective day is not counted
        (Civil Code Art. 201), so the 30th day is ``effective_on + 30``; if that is a rest day or a
        holiday, the period ends on the next working day (Art. 203).
        """
        ends_on = effective_on + timedelta(days=self.court_confirmation_within().days)
        last = ends_on
        for _ in range(60):  # the longest run of rest days is the Spring Festival's: a bound, never reached
            if not self.rest_day(last):
                break
            last += timedelta(days=1)
        return ends_on, last


class PeoplesMediationLaw(TimeLimitPolicy):
    def settle_within(self, category: str, level: str) -> timedelta:
        return timedelta(days=30)


TIME_LIMITS = ExtensionPoint(
    key="mediation.time_limits",
    group="redprop.mediation.time_limits",
    interface=TimeLimitPolicy,
    default="peoples_mediation_law",
    summary="Settlement, court-confirmation and publication windows",
)
