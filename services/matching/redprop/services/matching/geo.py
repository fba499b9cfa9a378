"""Great-circle distance, and a lat/lon grid for finding what is near (candidate blocking)."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG_LAT = 111_195.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def cell(lat: float, lon: float, size_deg: float) -> tuple[int, int]:
    return int(math.floor(lat / size_deg)), int(math.floor(lon / size_deg))


def cell_size_deg(radius_m: float, max_abs_lat: float) -> float:
    """A cell size (degrees) so everything within ``radius_m`` lies in the 3x3 cells around a point."""
    lon_scale = max(math.cos(math.radians(min(max_abs_lat, 89.0))), 0.01)
    return radius_m / (M_PER_DEG_LAT * lon_scale)
