"""Extension point ``matching.scorers``: factors (0..1) on a candidate pair's value, or a veto.

A district picks one or several (``plugins: {"matching.scorers": ["text_similarity", "condition"]}``);
their product is the pair's quality, which multiplies the value the optimiser maximises.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from redprop.plugins import ExtensionPoint
from redprop.services.matching.views import NeedView, OfferView, PairFacts


class PairScorer(ABC):
    """Interface: rate one offer for one need."""

    name: str = ""

    @abstractmethod
    def score(self, offer: OfferView, need: NeedView, facts: PairFacts) -> float | None:
        """A factor in 0..1, or None if this pair must not be proposed."""


class TextSimilarityScorer(PairScorer):
    """Same category is the gate; how alike the descriptions are refines it (0.6 .. 1.0)."""

    name = "text_similarity"
    FLOOR = 0.6

    def score(self, offer, need, facts):
        return self.FLOOR + (1 - self.FLOOR) * facts.similarity


class ConditionScorer(PairScorer):
    """Used goods in poor condition are worth less than new ones."""

    name = "condition"
    FACTORS = {"new": 1.0, "good": 0.95, "fair": 0.8, "poor": 0.6}

    def score(self, offer, need, facts):
        return self.FACTORS.get(offer.condition, 0.8)


SCORERS = ExtensionPoint(
    key="matching.scorers",
    group="redprop.matching.scorers",
    interface=PairScorer,
    default=["text_similarity", "condition"],
    summary="Factors on a candidate pair's value (text similarity, condition, ...)",
    many=True,
)
