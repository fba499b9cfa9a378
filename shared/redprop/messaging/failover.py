"""Failover across a cluster's nodes when one of them answers but refuses the vhost.

kombu moves on to the next broker address only for errors it deems *recoverable* (a refused socket, a
reset). A node that is up but whose vhost is not running there answers ``Connection.open`` with
``541 INTERNAL_ERROR - vhost ... is down``: irrecoverable to kombu, so every connection (consumers,
nameko's publishers, their retries) went back to that same node and never tried the others, and the
whole suite stopped answering while two healthy nodes waited (seen in tests/faults/test_cluster.py
after a node's vhost failed to start). RabbitMQ's own advice for that state is to retry, and to restart
the vhost on that node (``rabbitmqctl restart_vhost``); a client of a cluster should meanwhile use
another node. So 541 joins the recoverable connection errors of kombu's ``amqp`` transport: kombu then
retries with its backoff and switches to the next address, as for a node that is down.

Applied once, on import of :mod:`redprop.messaging` (every service and client imports it).
"""

from __future__ import annotations

import amqp.exceptions
from kombu.transport import pyamqp

#: What Connection.open raises on a node where the vhost is down.
VHOST_DOWN = amqp.exceptions.InternalError


def pass_over_nodes_that_refuse_the_vhost() -> None:
    transport = pyamqp.Transport
    if VHOST_DOWN not in transport.recoverable_connection_errors:
        transport.recoverable_connection_errors = (*transport.recoverable_connection_errors, VHOST_DOWN)


pass_over_nodes_that_refuse_the_vhost()
