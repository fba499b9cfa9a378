"""A small in-process cache for answers of other services that change rarely (places, catalogues).

Each replica keeps its own; entries expire after ``ttl`` seconds, so an announcement of a change that was
missed while the broker connection was down costs at most that long.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from nameko.extensions import DependencyProvider


class ExpiringCache(DependencyProvider):
    """Answers kept for ``ttl`` seconds (at most ``size`` of them, the least recently used go first);
    ``clear()`` empties it when the source announces a change."""

    def __init__(self, size: int = 20_000, ttl: float = 300.0):
        self.size, self.ttl = size, ttl

    def setup(self):
        self._entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self.hits = self.misses = 0

    def get_dependency(self, worker_ctx) -> ExpiringCache:
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
