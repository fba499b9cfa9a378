"""What the matching engine sees of offers and needs: plain, immutable, in base units.

The engine (candidates, optimiser) works on these and knows nothing of databases or messages, so the
benchmark and the property tests drive exactly the code the service runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


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
