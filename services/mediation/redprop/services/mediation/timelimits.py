"""Extension point ``mediation.time_limits``: how long a case may take, and the other legal windows.

The default follows the People's Mediation Law and Shanghai practice: settle within 30 days, warn 5 days
before; parties may seek court confirmation of an agreement within 30 days; a consultation's result is
posted within 3 days of closing. A district with other limits ships its own policy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import timedelta

from redprop.plugins import ExtensionPoint


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
