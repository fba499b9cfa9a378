"""The working calendar's coverage, watched: a metric, a /readyz warning and a daily log line.

SLA clocks in working time are only right while the statutory calendar knows the year (see
workcalendar.py). The day it runs out is known long before; operators are told in three places:
``redprop_calendar_covered_until_timestamp_seconds`` (the chart alerts on it), a warning on /readyz
(the pod stays ready: the clocks still run, on weekends only), and a WARNING at start and once a day.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time

from prometheus_client import Gauge

from redprop.metrics import MetricsServer
from redprop.services.ticketing.options import TicketingOptions
from redprop.services.ticketing.workcalendar import CHINA, WorkingCalendar

log = logging.getLogger(__name__)


class CalendarWatch:
    def __init__(self, options: TicketingOptions, server: MetricsServer | None):
        self.calendar = WorkingCalendar(notice=options.notice)
        self.warn_days = options.calendar_warning_days
        self.notice = options.notice
        self._logged_on: date | None = None
        self._gauge = None
        if server is not None:
            self._gauge = server.metric(
                Gauge, "redprop_calendar_covered_until_timestamp_seconds",
                "Start (00:00 Asia/Shanghai) of the first day the working calendar does not cover.", ())
            server.readiness_warnings.append(lambda: self.warning(datetime.now(CHINA).date()))

    def warning(self, today: date) -> str | None:
        return self.calendar.coverage_warning(today, self.warn_days)

    def check(self, now: datetime) -> None:
        """Refresh the gauge; log the warning once per (China) day."""
        today = now.astimezone(CHINA).date()
        until = self.calendar.covered_until(today)
        if self._gauge is not None:
            self._gauge.set(datetime.combine(until, time(0), CHINA).timestamp())
        if self._logged_on == today:
            return
        if self._logged_on is None and self.notice is not None:
            log.info("working calendar: %s adds %s", self.notice.source, sorted(self.notice.years))
        self._logged_on = today
        warning = self.warning(today)
        if warning:
            log.warning("%s", warning)

