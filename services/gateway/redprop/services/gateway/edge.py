"""The HTTP edge: what one client may take of the gateway (``services.gateway.options.http``).

The gateway shares its process with other services under ``redprop run --all``, so nothing a client
does at the socket level may raise out of the accept loop (nameko would kill the container, and the
runner every service with it). Connections are capped and reaped; descriptors running out pauses
accepting instead of failing; a request gets a deadline for its headers and another for its body; a
body over the limit is refused from its ``Content-Length`` before a byte of it is read.
"""

from __future__ import annotations

import errno
import logging
import resource
import time
from collections import OrderedDict
from functools import partial
from typing import Any

import eventlet
from eventlet import greenio, wsgi
from eventlet.event import Event
from nameko.web.server import HttpOnlyProtocol

from redprop.errors import RedpropError
from redprop.services.gateway.options import HttpLimits

log = logging.getLogger(__name__)

#: accept() failing for want of descriptors or memory: wait and retry, never die.
EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
#: accept() failing for a client that went away before we took it: just take the next.
GONE = {errno.ECONNABORTED, errno.ECONNRESET, errno.EPROTO, errno.EPERM, errno.EAGAIN}
EXHAUSTED_PAUSE = 0.05  # seconds before accept() is tried again after EMFILE


class PayloadTooLarge(RedpropError):
    """The request body is larger than ``http.max_body_bytes`` (HTTP 413)."""

    code = "payload_too_large"
    retryable = False


class RequestTimeout(RedpropError):
    """The client did not send its request in time (HTTP 408)."""

    code = "request_timeout"
    retryable = True


def connection_cap(limits: HttpLimits) -> int:
    """``max_connections``, held to half the soft descriptor limit (the rest is for everything else)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits.max_connections
    return max(4, min(limits.max_connections, soft // 2))


class GatewayProtocol(HttpOnlyProtocol):
    """eventlet's HTTP protocol with a deadline for a request's line and headers (slowloris)."""

    request_timeout: float = 10.0

    def handle_one_request(self):
        # From the first byte of the request line to the end of the headers; the idle wait before
        # it is eventlet's keep-alive timeout. TimeoutError (socket.timeout) is what eventlet treats as one.
        self._headers_deadline = eventlet.Timeout(
            self.request_timeout + self.server.keepalive, TimeoutError("request headers too slow"))
        try:
            super().handle_one_request()
        finally:
            self._headers_deadline.cancel()

    def get_environ(self):
        self._headers_deadline.cancel()  # the headers are in: the route's own deadlines apply now
        environ = super().get_environ()
        environ["redprop.protocol"] = self
        return environ


def close_after_response(environ: dict) -> None:
    """Close the connection after this response, so an unread body is not read to be discarded."""
    protocol = environ.get("redprop.protocol")
    if protocol is not None:
        protocol.close_connection = 1


class ConnectionTable:
    """The open connections, oldest first, with their eventlet state (idle or in a request)."""

    def __init__(self, cap: int):
        self.cap = cap
        self.open: OrderedDict[int, list] = OrderedDict()
        self._slot_freed = Event()

    def add(self, state: list) -> None:
        self.open[id(state)] = state

    def remove(self, state: list) -> None:
        self.open.pop(id(state), None)
        if not self._slot_freed.ready():
            self._slot_freed.send()

    def make_room(self) -> bool:
        """Below the cap, or at it with the longest-open idle connection closed; False if all are busy."""
        return len(self.open) < self.cap or self.close_oldest_idle()

    def close_oldest_idle(self) -> bool:
        for state in self.open.values():
            if state[2] == wsgi.STATE_IDLE:
                state[2] = wsgi.STATE_CLOSE
                greenio.shutdown_safe(state[1])  # its reader sees EOF and the connection ends
                self.open.pop(id(state), None)
                return True
        return False

    def close_idle(self) -> None:
        """On stop: idle connections end now (a request in progress finishes)."""
        while self.close_oldest_idle():
            pass

    def wait_for_slot(self, timeout: float) -> None:
        self._slot_freed = Event()
        with eventlet.Timeout(timeout, False):
            self._slot_freed.wait()


def accept_loop(server) -> None:
    """nameko's ``WebServer.run`` with the cap, the reaping and descriptor exhaustion handled."""
    table: ConnectionTable = server.connections
    warned_at = 0.0
    while server._is_accepting:
        if not table.make_room():
            table.wait_for_slot(1.0)  # every connection is busy: the backlog holds new ones
            continue
        try:
            sock, address = server._sock.accept()
        except OSError as exc:
            if exc.errno in EXHAUSTED:
                if time.monotonic() - warned_at > 60:
                    warned_at = time.monotonic()
                    log.warning("gateway: no file descriptors left (%s), %d connections open; "
                                "pausing accepts", errno.errorcode.get(exc.errno, exc.errno), len(table.open))
                table.close_oldest_idle()  # frees a descriptor for a client that is waiting
                eventlet.sleep(EXHAUSTED_PAUSE)
                continue
            if exc.errno in GONE:
                continue
            if not server._is_accepting:  # the listening socket was closed by stop()
                return
            raise
        sock.settimeout(server._serv.socket_timeout)
        state = [address, sock, wsgi.STATE_IDLE]
        table.add(state)
        server.container.spawn_managed_thread(partial(serve, server, state))


def serve(server, state: list) -> None:
    """One connection, start to end; nothing it does escapes to the container."""
    try:
        server._serv.process_request(state)
    except Exception as exc:  # noqa: BLE001 - a client's socket error is never the service's death
        log.debug("gateway: connection from %s ended: %r", state[0], exc)
    finally:
        server.connections.remove(state)
        try:
            state[1].close()
        except OSError:
            pass


def read_body(request, limits: HttpLimits) -> bytes:
    """The body, at most ``max_body_bytes``, within ``request_timeout``; refused early when declared too big."""
    declared = request.content_length
    if declared is not None and declared > limits.max_body_bytes:
        raise PayloadTooLarge(f"the body is {declared} bytes; at most {limits.max_body_bytes} are accepted",
                              {"limit": limits.max_body_bytes})
    # werkzeug's stream stops at Content-Length, and is empty without one (a chunked body is not read).
    stream = request.stream
    chunks, size = [], 0
    with eventlet.Timeout(limits.request_timeout, RequestTimeout(
            f"the body did not arrive within {limits.request_timeout:g} s", {})):
        while chunk := stream.read(65536):
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks)


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists/objects deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
