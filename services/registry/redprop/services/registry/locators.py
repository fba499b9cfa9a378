"""Extension point ``registry.locator``: which building serves a point (lat/lon).

The default answers with the nearest building within a distance, using a bucketed spatial index.
A district with grid polygons can ship a locator that tests containment instead.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from redprop.plugins import ExtensionPoint

EARTH_RADIUS_M = 6_371_008.8


class BuildingPoint(NamedTuple):
    id: str
    lat: float
    lon: float


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


class BuildingLocator(ABC):
    """Interface: index the district's buildings, then answer which one serves a point."""

    @abstractmethod
    def index(self, buildings: Iterable[BuildingPoint]) -> None:
        """(Re)build from every building of the district."""

    @abstractmethod
    def locate(self, lat: float, lon: float, max_distance_m: float) -> tuple[str, float] | None:
        """The building serving the point and its distance in metres, or None."""


class NearestBuildingLocator(BuildingLocator):
    """Nearest building by great-circle distance, searching only nearby cells of a lat/lon grid."""

    CELL_DEG = 0.005  # about 550 m of latitude

    def __init__(self):
        self._cells: dict[tuple[int, int], list[BuildingPoint]] = defaultdict(list)

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return int(math.floor(lat / self.CELL_DEG)), int(math.floor(lon / self.CELL_DEG))

    def index(self, buildings: Iterable[BuildingPoint]) -> None:
        cells: dict[tuple[int, int], list[BuildingPoint]] = defaultdict(list)
        for b in buildings:
            cells[self._cell(b.lat, b.lon)].append(b)
        self._cells = cells

    def locate(self, lat: float, lon: float, max_distance_m: float) -> tuple[str, float] | None:
        ci, cj = self._cell(lat, lon)
        lat_cells = math.ceil(max_distance_m / (self.CELL_DEG * 111_000)) + 1
        # A degree of longitude shrinks with latitude.
        lon_scale = max(math.cos(math.radians(lat)), 0.01)
        lon_cells = math.ceil(max_distance_m / (self.CELL_DEG * 111_000 * lon_scale)) + 1
        best: tuple[str, float] | None = None
        for i in range(ci - lat_cells, ci + lat_cells + 1):
            for j in range(cj - lon_cells, cj + lon_cells + 1):
                for b in self._cells.get((i, j), ()):
                    d = haversine_m(lat, lon, b.lat, b.lon)
                    if d <= max_distance_m and (best is None or d < best[1] or (d == best[1] and b.id < best[0])):
                        best = (b.id, d)
        return best


LOCATOR = ExtensionPoint(
    key="registry.locator",
    group="redprop.registry.locators",
    interface=BuildingLocator,
    default="nearest_building",
    summary="Which building serves a point (lat/lon)",
    instantiate=False,  # a locator is built for each version of the map (resolver.RegistryMap)
)
