"""Messaging: RPC entrypoints and clients, events with a transactional outbox, dead letters.

Where to look:
  rpc.py          @query / @command entrypoints (validation, commit-before-reply, idempotency)
  events.py       @event_handler (idempotent consumption, retry, dead-lettering); @broadcast_handler;
                  @role_handler (consumed only in one role: district or city)
  outbox.py       self.events.emit(...) and the relay that publishes after commit
  client.py       RpcClient (standalone) and ServiceRpc (inside a service)
  idempotency.py  stored replies keyed by request_id
  group_commit.py self.group(request, build): commands that only add rows share a transaction
  confirms.py     publishing a batch with publisher confirms awaited together (the relay's)
  deadletter.py   retry holding queues and the dead-letter queue
  wire.py         exchanges, routing keys, headers and the error object
  failover.py     a node refusing the vhost (541) is passed over like a node that is down
  tables.py       the tables these keep in each service's database
"""

import redprop.messaging.failover  # noqa: F401 - applied on import, before any connection
from redprop.messaging.client import RpcClient, ServiceRpc
from redprop.messaging.events import broadcast_handler, event_handler, role_handler
from redprop.messaging.group_commit import GroupCommit, Write
from redprop.messaging.outbox import EventOutbox
from redprop.messaging.rpc import command, query

__all__ = ["EventOutbox", "GroupCommit", "RpcClient", "ServiceRpc", "Write", "broadcast_handler", "command",
           "event_handler", "query", "role_handler"]
