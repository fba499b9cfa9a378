"""What the matching engine sees of offers and needs: plain, immutable, in base units.

The engine (candidates, optimiser) works on these and knows nothing of databases or messages, so the
benchmark and the property tests drive exactly the code the service runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np


@dataclass(frozen=True)
class OfferView:
    id: str
    category: str
    family: str
    supply: int                      # base units that can still be proposed
    lat: float
    lon: float
    start: date | None = None
    end: date | None = None          # the earlier of available_until and the provider's leaving day
    weekdays: tuple[int, ...] | None = None
    condition: str = "good"
    unit_value: float = 0.0          # the provider's estimate, yuan per base unit
    transport_rate: float = 0.0      # yuan per base unit per km
    tokens: tuple[str, ...] = ()
    category_source: str = "given"


@dataclass(frozen=True)
class NeedView:
    id: str
    category: str
    family: str
    demand: int                      # base units still wanted
    lat: float
    lon: float
    end: date                        # needed by
    start: date | None = None
    priority: int = 3
    unit_value: float = 0.0          # the budget estimate, yuan per base unit
    community_id: str | None = None
    tokens: tuple[str, ...] = ()
    category_source: str = "given"


@dataclass(frozen=True)
class PairFacts:
    """What candidate generation established about a pair, before scoring."""

    distance_m: float
    similarity: float
    shared_terms: tuple[str, ...]
    feasible_from: date
    feasible_until: date


@dataclass(frozen=True)
class PairBatch:
    """Many pairs at once, for scorers that rate in bulk (``PairScorer.score_pairs``): pair ``k`` is
    ``offers[offer[k]]`` with ``needs[need[k]]``; dates are proleptic ordinals (``date.toordinal``)."""

    offers: Sequence[OfferView]
    needs: Sequence[NeedView]
    offer: np.ndarray                # int64 indices into offers
    need: np.ndarray                 # int64 indices into needs
    distance_m: np.ndarray
    similarity: np.ndarray
    feasible_from: np.ndarray
    feasible_until: np.ndarray

    def __len__(self) -> int:
        return len(self.offer)

    def facts(self, k: int) -> PairFacts:
        """The facts of pair ``k`` as ``PairScorer.score`` sees them."""
        from redprop.services.matching import text

        offer, need = self.offers[self.offer[k]], self.needs[self.need[k]]
        return PairFacts(distance_m=float(self.distance_m[k]), similarity=float(self.similarity[k]),
                         shared_terms=tuple(text.shared(offer.tokens, need.tokens)),
                         feasible_from=date.fromordinal(int(self.feasible_from[k])),
                         feasible_until=date.fromordinal(int(self.feasible_until[k])))


@dataclass
class Candidate:
    offer: int                       # index into the offers list
    need: int                        # index into the needs list
    capacity: int
    profit: float                    # net benefit per base unit (what the optimiser maximises)
    unit_value: float
    priority_weight: float
    quality: float
    fairness_weight: float
    transport_per_unit: float
    facts: PairFacts
    scores: dict[str, float] = field(default_factory=dict)
