"""redprop's benchmark harness: ``make bench`` (``python -m bench``) writes ``docs/benchmarks.md``.

What is measured, each in the same run on the same broker (a fresh virtual host per run):

- ``raw_amqp``: the floor. A minimal request/reply echo server written with the ``amqp`` library
  (no persistence, no publisher confirms), in its own process, answered with the same reply bytes as
  ``registry.resolve``.
- ``nameko_defaults``: what plain nameko 2.14 gives: a minimal service with a plain ``@rpc`` method doing
  the same work (the same in-memory governance map), called through nameko's ``ClusterRpcProxy``.
  Requests and replies are persistent and publisher-confirmed, as nameko does by default.
- ``redprop_rpc``: ``registry.resolve`` on the real registry service (``redprop run registry``), called
  through :class:`redprop.messaging.client.RpcClient`: a query, so transient and unconfirmed.
- ``registry_import``: the bulk import of the sample district (``redprop registry import``).

Each RPC target runs in its own process; the load generator (this process) measures sequential
latency (p50, p99) and throughput, and pipelined throughput with a fixed number of calls in flight.
Rounds are interleaved (raw, nameko, redprop, raw, ...) so that drift on a shared machine hits every
target alike; latencies are pooled over rounds and throughputs are the median round.
"""
