"""Beijing (Asia/Shanghai) years and months: ``2026`` and ``2026-03``. A turn at 2025-12-31 16:30 UTC is
in Beijing's 2026."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def year_month(moment: datetime) -> tuple[int, str]:
    local = moment.astimezone(CHINA)
    return local.year, f"{local.year}-{local.month:02d}"


def this_year(moment: datetime) -> int:
    return moment.astimezone(CHINA).year
