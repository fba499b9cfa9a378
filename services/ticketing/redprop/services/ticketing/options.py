"""The ticketing service's own settings: ``services.ticketing.options`` in redprop.yaml."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    field_validator,
    model_validator,
)

from redprop.contracts.ticketing import Category
from redprop.services.ticketing.holidaynotice import HolidayNotice, load_notice


class SlaTerms(BaseModel):
    """Deadlines of one SLA class, in hours of calendar time or of working time."""

    model_config = ConfigDict(extra="forbid")

    response_hours: float = Field(gt=0, le=24 * 90)
    resolution_hours: float = Field(gt=0, le=24 * 365)
    basis: str = Field(pattern="^(calendar|working)$")

    @model_validator(mode="after")
    def _response_first(self):
        if self.response_hours > self.resolution_hours:
            raise ValueError("response_hours must not exceed resolution_hours")
        return self


class TicketingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Route and dispatch at intake (Beijing: dispatch within 5 minutes). Off: a worker dispatches.
    auto_dispatch: bool = True
    #: Categories added or changed by the district (by code); merged over the default catalogue.
    categories: list[Category] = Field(default_factory=list)
    #: Category codes the district does not offer.
    disabled_categories: list[str] = Field(default_factory=list)
    #: SLA terms per class, overriding the policy's defaults.
    sla: dict[str, SlaTerms] = Field(default_factory=dict)
    #: A ticket is "at risk" once this share of its time is used.
    at_risk_fraction: float = Field(default=0.8, gt=0, lt=1)
    #: The SLA sweep runs this often (seconds).
    sweep_interval: float = Field(default=60.0, ge=1)
    #: Tickets examined per sweep batch.
    sweep_batch: int = Field(default=1000, ge=10, le=100_000)
    #: Working hours (local time, Asia/Shanghai) for SLA classes counted in working time.
    workday_start: time = time(9, 0)
    workday_end: time = time(18, 0)
    #: Local adjustments the statutory calendar does not know (or years it does not cover yet).
    extra_holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(default_factory=list)
    #: A State Council holiday notice as a YAML/JSON file (see holidaynotice.py): years the statutory
    #: calendar library does not have yet, or corrections to it. Checked at start-up.
    calendar_file: Path | None = None
    #: Warn (log daily, /readyz, and the chart's alert) this many days before the calendar runs out.
    calendar_warning_days: int = Field(default=60, ge=1, le=366)
    #: Duplicates: same place and category within this many days, with text at least this similar.
    duplicate_window_days: int = Field(default=7, ge=0, le=90)
    duplicate_similarity: float = Field(default=0.5, ge=0, le=1)
    #: Where the webhook notifier posts (plugins: {"ticketing.notifiers": ["log", "webhook"]}).
    webhook_url: HttpUrl | None = None
    webhook_timeout: float = Field(default=3.0, gt=0, le=30)
    #: ``projects``: a resolution paid from the emergency repair fund draws from the projects service's
    #: ledger and is refused when the fund cannot pay (funddraw.py). ``none``: the fund use is only recorded.
    fund_ledger: Literal["none", "projects"] = "none"

    _notice: HolidayNotice | None = PrivateAttr(default=None)

    @property
    def notice(self) -> HolidayNotice | None:
        """The loaded ``calendar_file`` (None without one)."""
        return self._notice

    @field_validator("calendar_file")
    @classmethod
    def _check_calendar_file(cls, path: Path | None) -> Path | None:
        # Checked with the options so that a wrong file stops start-up (and `config --check`) with
        # an error naming this setting and the file's wrong entry.
        if path is not None:
            load_notice(path)
        return path

    @model_validator(mode="after")
    def _load_calendar_file(self):
        if self.calendar_file is not None:
            self._notice = load_notice(self.calendar_file)
        return self

    @model_validator(mode="after")
    def _workday_order(self):
        if self.workday_end <= self.workday_start:
            raise ValueError("workday_end must be after workday_start")
        return self
