"""A small client for RabbitMQ's management HTTP API (vhosts, permissions, queue depths).

Used where the suite needs an isolated virtual host (the demo, the tests, the benchmarks) and by
operators' tooling. Standard library only; the API lives on port 15672 of the broker's host.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, unquote, urlsplit

#: Looked up when a client names no port, so the test plugin can point it at a broker of its own.
MANAGEMENT_PORT = 15672


class ManagementUnavailable(Exception):
    """The management API did not answer (plugin disabled, or the broker is elsewhere)."""


class RabbitManagement:
    def __init__(self, amqp_uri: str, port: int | None = None, timeout: float = 10.0):
        # Of several broker addresses, the first: a cluster's nodes share one management view.
        from redprop.config import broker_addresses

        parts = urlsplit((broker_addresses(amqp_uri) or [amqp_uri])[0])
        self.user = unquote(parts.username or "guest")
        self.password = unquote(parts.password or "guest")
        self.api = f"http://{parts.hostname or '127.0.0.1'}:{port or MANAGEMENT_PORT}/api"
        self.timeout = timeout
        manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        manager.add_password(None, self.api, self.user, self.password)
        self._opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(manager))

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        try:
            with self._opener.open(req, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError:
            raise
        except (OSError, urllib.error.URLError) as exc:
            raise ManagementUnavailable(f"RabbitMQ management API at {self.api}: {exc}") from exc
        return json.loads(raw) if raw else None

    # -- vhosts ----------------------------------------------------------------------------------

    def create_vhost(self, vhost: str, *, fresh: bool = False) -> None:
        """Create ``vhost`` (recreated empty if ``fresh``) and give our user full rights on it."""
        if fresh:
            self.delete_vhost(vhost)
        name = quote(vhost, safe="")
        self.request("PUT", f"/vhosts/{name}", {})
        self.request("PUT", f"/permissions/{name}/{quote(self.user, safe='')}",
                     {"configure": ".*", "write": ".*", "read": ".*"})

    def vhost_state(self, vhost: str) -> dict[str, str]:
        """Per node of a cluster, whether ``vhost`` runs there (``running``, ``stopped``, ``nodedown``)."""
        return (self.request("GET", f"/vhosts/{quote(vhost, safe='')}") or {}).get("cluster_state") or {}

    def start_vhost(self, vhost: str, node: str) -> None:
        """Start ``vhost`` on ``node``, where it is down (``rabbitmqctl restart_vhost`` on that node)."""
        self.request("POST", f"/vhosts/{quote(vhost, safe='')}/start/{quote(node, safe='')}")

    def delete_vhost(self, vhost: str) -> None:
        try:
            self.request("DELETE", f"/vhosts/{quote(vhost, safe='')}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise

    # -- queues ----------------------------------------------------------------------------------

    def queue(self, vhost: str, name: str) -> dict[str, Any] | None:
        """The queue's state (``messages``, ``consumers``...), or None if it does not exist."""
        try:
            return self.request("GET", f"/queues/{quote(vhost, safe='')}/{quote(name, safe='')}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/queues/{quote(vhost, safe='')}") or []
