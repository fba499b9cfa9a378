"""Extension point ``ticketing.sla_policy``: the deadlines a ticket must meet.

The default, ``beijing_12345``, follows Beijing's "handle on receipt" (接诉即办) rules: emergencies and
risk to life or property within 2 h, water, power, gas and heating within 24 h (calendar time), general
matters within 7 and complex ones within 15 working days. First responses: 30 min, 2 h, and one working
day. Districts change any figure in ``services.ticketing.options.sla``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta

from redprop.plugins import ExtensionPoint
from redprop.services.ticketing.options import SlaTerms, TicketingOptions
from redprop.services.ticketing.workcalendar import WorkingCalendar


class SlaPolicy(ABC):
    """Turns an SLA class and a start time into deadlines, on some notion of time."""

    def __init__(self, options: TicketingOptions):
        self.options = options

    @abstractmethod
    def terms(self) -> dict[str, SlaTerms]:
        """The terms of every SLA class."""

    @abstractmethod
    def add(self, sla_class: str, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of the class's time (calendar or working)."""

    @abstractmethod
    def elapsed(self, sla_class: str, start: datetime, end: datetime) -> timedelta:
        """How much of the class's time passed between two moments."""

    def deadlines(self, sla_class: str, start: datetime) -> tuple[datetime, datetime]:
        t = self.terms()[sla_class]
        return self.add(sla_class, start, t.response_hours), self.add(sla_class, start, t.resolution_hours)

    def extend(self, sla_class: str, due: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
        """A deadline after a pause: what was left at the pause, counted again from the resumption."""
        left = self.elapsed(sla_class, paused_at, due)
        return self.add(sla_class, resumed_at, left.total_seconds() / 3600)


class Beijing12345Policy(SlaPolicy):
    DEFAULTS = {
        "emergency": SlaTerms(response_hours=0.5, resolution_hours=2, basis="calendar"),
        "utilities": SlaTerms(response_hours=2, resolution_hours=24, basis="calendar"),
        "general": SlaTerms(response_hours=9, resolution_hours=7 * 9, basis="working"),
        "complex": SlaTerms(response_hours=9, resolution_hours=15 * 9, basis="working"),
    }

    def __init__(self, options: TicketingOptions):
        super().__init__(options)
        self._terms = {**self.DEFAULTS, **options.sla}
        self.calendar = WorkingCalendar(options.workday_start, options.workday_end,
                                        options.extra_holidays, options.extra_workdays, options.notice)

    def terms(self) -> dict[str, SlaTerms]:
        return self._terms

    def _working(self, sla_class: str) -> bool:
        return self._terms[sla_class].basis == "working"

    def add(self, sla_class: str, start: datetime, hours: float) -> datetime:
        duration = timedelta(hours=hours)
        return self.calendar.add(start, duration) if self._working(sla_class) else start + duration

    def elapsed(self, sla_class: str, start: datetime, end: datetime) -> timedelta:
        if self._working(sla_class):
            return self.calendar.between(start, end)
        return max(end - start, timedelta(0))


SLA_POLICY = ExtensionPoint(
    key="ticketing.sla_policy", group="redprop.ticketing.sla_policies", interface=SlaPolicy,
    default="beijing_12345", summary="Deadlines per SLA class, in calendar or working time.",
    takes_options=True)


class SlaClock:
    """A ticket's SLA state: when it may next change (``next_check_at``) and what it is now.

    Every transition that moves a clock asks it, and so does the sweep; it changes only those columns.
    """

    def __init__(self, policy: SlaPolicy, at_risk_fraction: float):
        self.policy, self.at_risk_fraction = policy, at_risk_fraction

    def risk_point(self, row, start: datetime, due: datetime) -> datetime:
        total = self.policy.elapsed(row.sla_class, start, due)
        return self.policy.add(row.sla_class, start, self.at_risk_fraction * total.total_seconds() / 3600)

    def moments(self, row) -> list[datetime]:
        """The coming moments at which the ticket's SLA state may change."""
        moments = []
        if row.responded_at is None and not row.response_breached:
            moments += [self.risk_point(row, row.submitted_at, row.response_due_at), row.response_due_at]
        if not row.level_breached:
            moments += [self.risk_point(row, row.resolution_clock_from, row.resolution_due_at), row.resolution_due_at]
        return moments

    def schedule(self, row, now: datetime) -> None:
        if row.status not in ("submitted", "dispatched", "in_progress"):
            row.next_check_at = None  # paused or finished: no clock runs
            return
        future = [m for m in self.moments(row) if m > now]
        row.next_check_at = min(future) if future else (now if self.moments(row) else None)
        self.update_state(row, now)

    def update_state(self, row, now: datetime) -> str:
        if row.response_breached and row.responded_at is None or row.level_breached:
            state = "breached"
        else:
            at_risk = (row.responded_at is None and now >= self.risk_point(row, row.submitted_at, row.response_due_at)) \
                or now >= self.risk_point(row, row.resolution_clock_from, row.resolution_due_at)
            state = "at_risk" if at_risk else "on_track"
        row.sla_state = state
        return state
