"""Extension point ``matching.scorers``: factors (0..1) on a candidate pair's value, or a veto.

A district picks one or several (``plugins: {"matching.scorers": ["text_similarity", "condition"]}``);
their product is the pair's quality, which multiplies the value the optimiser maximises.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from redprop.plugins import ExtensionPoint
from redprop.services.matching.views import NeedView, OfferView, PairBatch, PairFacts


class PairScorer(ABC):
    """Interface: rate one offer for one need."""

    name: str = ""

    @abstractmethod
    def score(self, offer: OfferView, need: NeedView, facts: PairFacts) -> float | None:
        """A factor in 0..1, or None if this pair must not be proposed."""

    def score_pairs(self, pairs: PairBatch) -> np.ndarray:
        """Factors for many pairs at once, NaN where ``score`` would say None (a veto).

        Candidate generation calls this; the default asks ``score`` pair by pair. A scorer that can
        rate in bulk (arrays) overrides it: at city scale there are millions of pairs.
        """
        out = np.empty(len(pairs))
        for k in range(len(pairs)):
            factor = self.score(pairs.offers[pairs.offer[k]], pairs.needs[pairs.need[k]], pairs.facts(k))
            out[k] = np.nan if factor is None else float(factor)
        return out


def _overrides_score(scorer: PairScorer, base: type) -> bool:
    """A subclass that rates pairs its own way (``score``) must not get its base's bulk ratings."""
    return type(scorer).score is not base.score


class TextSimilarityScorer(PairScorer):
    """Same category is the gate; how alike the descriptions are refines it (0.6 .. 1.0)."""

    name = "text_similarity"
    FLOOR = 0.6

    def score(self, offer, need, facts):
        return self.FLOOR + (1 - self.FLOOR) * facts.similarity

    def score_pairs(self, pairs):
        if _overrides_score(self, TextSimilarityScorer):
            return super().score_pairs(pairs)
        return self.FLOOR + (1 - self.FLOOR) * pairs.similarity


class ConditionScorer(PairScorer):
    """Used goods in poor condition are worth less than new ones."""

    name = "condition"
    FACTORS = {"new": 1.0, "good": 0.95, "fair": 0.8, "poor": 0.6}

    def score(self, offer, need, facts):
        return self.FACTORS.get(offer.condition, 0.8)

    def score_pairs(self, pairs):
        if _overrides_score(self, ConditionScorer):
            return super().score_pairs(pairs)
        offers, inverse = np.unique(pairs.offer, return_inverse=True)
        factors = np.array([self.FACTORS.get(pairs.offers[i].condition, 0.8) for i in offers.tolist()], dtype=float)
        return factors[inverse]


SCORERS = ExtensionPoint(
    key="matching.scorers",
    group="redprop.matching.scorers",
    interface=PairScorer,
    default=["text_similarity", "condition"],
    summary="Factors on a candidate pair's value (text similarity, condition, ...)",
    many=True,
)
