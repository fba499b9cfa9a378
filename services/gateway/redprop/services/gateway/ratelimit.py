"""Failed logins counted per username and per client address (``login_limits``), in this replica's memory.

Over the limit a login is refused with 429 and Retry-After before its password is even hashed, so
guessing costs the guesser time and the gateway nothing.
"""

from __future__ import annotations

import math
import time
from collections import deque

from redprop.errors import RedpropError
from redprop.services.gateway.options import LoginLimits

MAX_TRACKED = 100_000  # keys remembered at most (a flood of usernames cannot exhaust memory)


class TooManyRequests(RedpropError):
    """Too many failed logins (HTTP 429); ``details.retry_after`` is in seconds."""

    code = "too_many_requests"
    retryable = True


class FailureCounter:
    def __init__(self, limits: LoginLimits):
        self.limits = limits
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.limits.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, username: str, address: str) -> None:
        now = time.monotonic()
        for key, limit in ((("user", username), self.limits.per_username),
                           (("addr", address), self.limits.per_address)):
            times = self._recent(key, now)
            if len(times) >= limit:
                retry = max(1, math.ceil(times[0] + self.limits.window - now))
                field = "username" if key[0] == "user" else "address"
                raise TooManyRequests(f"too many failed logins for this {field}; try again in {retry} s",
                                      {"retry_after": retry, "limit": field})

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        if len(self._failures) >= MAX_TRACKED:
            self._failures.pop(next(iter(self._failures)))
        for key in (("user", username), ("addr", address)):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(("user", username), None)
