"""Addresses for Open311: a reporter's ``address_string`` matched to a place of the registry, and a
ticket's location written out as the human-readable ``address`` GeoReport v2 asks for.

GeoReport v2, POST Service Request: "either lat & long or address_string or address_id must be
submitted"; address_string is the "human entered address or description of location". GET Service
Request: ``address`` is the "human readable address or description of location ... from most specific
to most general geographic unit". http://wiki.open311.org/GeoReport_v2
"""

from __future__ import annotations

import re
import time
import unicodedata
from typing import Any

from redprop.errors import NotFound, ValidationFailed

NAMES_TTL = 300.0  # seconds a place's written-out address is reused (names change rarely)
LIST_PAGE = 5000

_cache: dict[tuple[str, str, str], tuple[float, str | None]] = {}


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, no spaces or punctuation: 阳光小区 1 号楼 == 阳光小区1号楼."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s,，.。、;；:：()（）\-#/]+", "", text)


def _all(registry, kind: str, within: str | None = None) -> list:
    items, offset = [], 0
    while True:
        page = registry.list(kind=kind, within=within, limit=LIST_PAGE, offset=offset)
        items += page.items
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return items


def match(registry, address_string: str) -> dict[str, str]:
    """The ticket location for ``address_string``: ``{"building_id": ...}`` or ``{"complex_id": ...}``.

    A complex matches when its name or street address appears in the text (the longest match wins);
    then a building of that complex whose name appears in the rest of the text makes it a building.
    """
    wanted = normalise(address_string)
    if not wanted:
        raise ValidationFailed.for_field("address_string", "the address is empty", "missing")
    best, best_len, rest = None, 0, wanted
    for complex_ in _all(registry, "complex"):
        for label in (complex_.name, getattr(complex_, "address", None)):
            key = normalise(label or "")
            if key and key in wanted and len(key) > best_len:
                best, best_len, rest = complex_, len(key), wanted.replace(key, "", 1)
    if best is None:
        # Like an unknown address_id, an address that names no place of the registry is a 404.
        raise NotFound("address_string: no complex or building of this district matches this address; give its "
                       "complex's name or street address, or lat and long, address_id or attribute[building_id]",
                       {"entity": "address", "field": "address_string"})
    buildings = [b for b in _all(registry, "building", within=best.id)
                 if normalise(b.name) and normalise(b.name) in rest]
    if buildings:
        return {"building_id": max(buildings, key=lambda b: len(normalise(b.name))).id}
    return {"complex_id": best.id}


def written_out(registry, district: str, location: Any) -> str | None:
    """The location from most specific to most general: 1号楼, 阳光小区, 幸福社区, 测试街道, 测试区."""
    if location.building_id:
        kind, id_ = "building_id", location.building_id
    elif location.complex_id:
        kind, id_ = "complex_id", location.complex_id
    else:
        return None
    key = (district, kind, id_)
    cached = _cache.get(key)
    if cached and time.monotonic() - cached[0] < NAMES_TTL:
        return cached[1]
    try:
        where = registry.resolve(**{kind: id_})
    except NotFound:
        text = None
    else:
        parts = [where.building.name if where.building else None, where.complex.name, where.community.name,
                 where.subdistrict.name, where.district_region.name]
        text = ", ".join(p for p in parts if p)
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[key] = (time.monotonic(), text)
    return text
