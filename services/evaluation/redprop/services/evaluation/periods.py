"""Quarters in Asia/Shanghai time: ``2026Q3`` is 1 July 2026 00:00 to 1 October 2026 00:00 local time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from redprop.errors import ValidationFailed

CHINA = ZoneInfo("Asia/Shanghai")
_PERIOD = re.compile(r"^(\d{4})Q([1-4])$")


def period_of(moment: datetime) -> str:
    local = moment.astimezone(CHINA)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def parse(period: str, field: str = "period") -> tuple[int, int]:
    match = _PERIOD.match(period)
    if match is None:
        raise ValidationFailed.for_field(field, f"{period!r} is not a quarter like 2026Q3")
    return int(match.group(1)), int(match.group(2))


def bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of the quarter, timezone-aware (Asia/Shanghai)."""
    year, q = parse(period)
    start = datetime(year, 3 * q - 2, 1, tzinfo=CHINA)
    end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=CHINA)
    return start, end


def shift(period: str, quarters: int) -> str:
    year, q = parse(period)
    n = year * 4 + (q - 1) + quarters
    return f"{n // 4}Q{n % 4 + 1}"


def last_n(until: str, n: int) -> list[str]:
    """The ``n`` quarters ending with ``until``, oldest first."""
    return [shift(until, -k) for k in range(n - 1, -1, -1)]


def of_year(year: int) -> list[str]:
    return [f"{year}Q{q}" for q in (1, 2, 3, 4)]


def lock_time(period: str, grace_days: int) -> datetime:
    """When a quarter locks on its own: its end plus the grace period for late scorecards."""
    return bounds(period)[1] + timedelta(days=grace_days)
