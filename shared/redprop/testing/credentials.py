"""A RabbitMQ user with a password of the test's own, so tests can check that it is never printed."""

from __future__ import annotations

import secrets
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote


@contextmanager
def temporary_broker_user(management, vhost: str, prefix: str = "redprop-test") -> Iterator[tuple[str, str]]:
    """(user, password) allowed everything on ``vhost`` only; deleted afterwards."""
    user = f"{prefix}-{secrets.token_hex(4)}"
    password = f"Pw-{secrets.token_hex(8)}"
    management.request("PUT", f"/users/{quote(user, safe='')}", {"password": password, "tags": ""})
    try:
        management.request("PUT", f"/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
                           {"configure": ".*", "write": ".*", "read": ".*"})
        yield user, password
    finally:
        try:
            management.request("DELETE", f"/users/{quote(user, safe='')}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
