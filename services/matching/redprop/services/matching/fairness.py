"""Extension point ``matching.fairness``: weights per community, so help is spread fairly.

The weight multiplies the value of every pair whose need belongs to that community. Weights keep the
problem a min-cost flow (no side constraints), so the solve stays exact and fast.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping

from redprop.plugins import ExtensionPoint


class FairnessRule(ABC):
    """Interface: given what each community has received so far, weight its needs."""

    @abstractmethod
    def weights(self, communities: Iterable[str], received: Mapping[str, float]) -> dict[str, float]:
        """community id -> weight (> 0); communities left out weigh 1."""


class NoFairness(FairnessRule):
    """The default: value decides alone."""

    def weights(self, communities, received):
        return {}


class UnderservedFirst(FairnessRule):
    """Communities that have received less (savings ledger) weigh up to ``boost`` more."""

    boost = 0.3

    def weights(self, communities, received):
        communities = sorted(set(communities))
        if not communities:
            return {}
        most = max((received.get(c, 0.0) for c in communities), default=0.0)
        if most <= 0:
            return {c: 1.0 for c in communities}
        return {c: 1.0 + self.boost * (1.0 - received.get(c, 0.0) / most) for c in communities}


FAIRNESS = ExtensionPoint(
    key="matching.fairness",
    group="redprop.matching.fairness",
    interface=FairnessRule,
    default="none",
    summary="Weights per community so that matched help is spread fairly",
)
