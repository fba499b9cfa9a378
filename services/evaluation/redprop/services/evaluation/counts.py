"""Exact KPI counts and the rates made from them (``Fraction``: no float ever enters a score)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

COUNTERS = ("tickets", "responded", "responded_on_time", "resolved", "resolved_on_time", "rated", "satisfied",
            "rating_sum", "reopened")


@dataclass
class KpiCounts:
    tickets: int = 0
    responded: int = 0
    responded_on_time: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    rating_sum: int = 0
    reopened: int = 0

    def __add__(self, other: KpiCounts) -> KpiCounts:
        return KpiCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: KpiCounts) -> KpiCounts:
        return KpiCounts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}

    def is_zero(self) -> bool:
        return not any(self.as_dict().values())

    # -- the rates: (numerator, denominator) so explanations can show both ------------------------

    def measure(self, name: str) -> tuple[int, int]:
        return {
            "response_rate": (self.responded_on_time, self.tickets),
            "resolution_rate": (self.resolved, self.tickets),
            "satisfaction_rate": (self.satisfied, self.rated),
            "on_time_rate": (self.resolved_on_time, self.resolved),
            "reopen_rate": (self.reopened, self.tickets),
            "no_reopen_rate": (self.tickets - self.reopened, self.tickets),
        }[name]

    def rate(self, name: str) -> Fraction | None:
        num, den = self.measure(name)
        return Fraction(num, den) if den else None

    def mean_rating(self) -> Fraction | None:
        return Fraction(self.rating_sum, self.rated) if self.rated else None


def quantize(value: Fraction | Decimal | int, places: int = 2) -> Decimal:
    """Round half up to ``places`` decimals, exactly (a Fraction is never passed through a float)."""
    if isinstance(value, Fraction):
        scaled = value * 10 ** places
        whole, rest = divmod(scaled.numerator, scaled.denominator)
        if 2 * rest >= scaled.denominator:  # half up (values here are never negative)
            whole += 1
        return Decimal(whole).scaleb(-places)
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def rate_decimal(value: Fraction | None) -> Decimal | None:
    return None if value is None else quantize(value, 4)
