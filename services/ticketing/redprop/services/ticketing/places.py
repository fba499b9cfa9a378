"""A cache of the registry's answers on the intake path (where is this building? does this resident exist?).

Every submit needs both; the answers change only when the district's structure changes. Each replica
keeps its own cache and empties it when the registry announces a change (``registry.structure_changed``,
delivered to every replica); entries also expire after ``ttl`` seconds, in case an announcement is
missed while the broker connection was down.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from nameko.extensions import DependencyProvider


class PlaceCache(DependencyProvider):
    def __init__(self, size: int = 20_000, ttl: float = 300.0):
        self.size, self.ttl = size, ttl

    def setup(self):
        self._entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self.hits = self.misses = 0

    def get_dependency(self, worker_ctx) -> PlaceCache:
        return self

    def get(self, key: tuple, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]
        self.misses += 1
        value = load()  # errors (not found) are not cached: a fix in the registry shows at once
        self._entries[key] = (now + self.ttl, value)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()
