"""Quorum versus classic queues (issue 20): ticket intake and ``registry.resolve`` on each, in the same run.

Two isolated virtual hosts on the local broker (one node), each with its own registry and ticketing
processes: one declared with ``messaging.queue_type: classic``, the other ``quorum``. The rounds alternate
between them, so the machine's load falls on both alike; each figure is the median of the rounds and the
ratio is quorum over classic (the baseline, measured in the same run). Services keep their data in SQLite
files (the same for both), so what differs is only the queues.
"""

from __future__ import annotations

import uuid

import yaml

from bench.common import (
    REDPROP,
    Environment,
    free_port,
    http_ok,
    log,
    measure_pipelined,
    measure_sequential,
    median,
    percentile,
    queue_has_consumers,
    wait_until,
)

ROUNDS = 3
ROUND_SECONDS = 3.0
WINDOW = 16
KINDS = ("classic", "quorum")


def _start(env: Environment, kind: str, amqp_uri: str) -> str:
    ports = {"registry": free_port(), "ticketing": free_port()}
    data = {
        "amqp_uri": amqp_uri, "data_dir": str(env.tmp / kind), "log_level": "WARNING",
        "messaging": {"queue_type": kind},
        "services": {
            "registry": {"database_url": f"sqlite:///{env.tmp / kind}-registry.sqlite3", "metrics_port": ports["registry"]},
            "ticketing": {"database_url": f"sqlite:///{env.tmp / kind}-ticketing.sqlite3",
                          "metrics_port": ports["ticketing"], "options": {"sweep_interval": 3600}},
        },
    }
    config = env.tmp / f"{kind}.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    import os
    import subprocess

    for name in ("registry", "ticketing"):
        subprocess.run([REDPROP, "migrate", name], env={**os.environ, "REDPROP_CONFIG": str(config)},
                       check=True, capture_output=True, timeout=120)
        proc = env.spawn(f"{kind}-{name}", [REDPROP, "run", name], {"REDPROP_CONFIG": str(config)})
        wait_until(lambda n=name: http_ok(f"http://127.0.0.1:{ports[n]}/readyz")
                   and queue_has_consumers(amqp_uri, f"rpc-{n}"),
                   timeout=90, what=f"{kind} {name}", proc=proc, env=env, name=f"{kind}-{name}")
    return str(config)


def run() -> str:
    from redprop.config import load_settings
    from redprop.messaging.client import RpcClient
    from redprop.messaging.management import RabbitManagement
    from tests.conftest import small_district_records

    env = Environment(tag=f"qq{uuid.uuid4().hex[:6]}")
    env.setup()
    try:
        uris = {"classic": env.amqp_uri, "quorum": env.add_vhost("quorum")}
        clients = {}
        for kind in KINDS:
            settings = load_settings(_start(env, kind, uris[kind]))
            rpc = RpcClient(settings, timeout=60)
            rpc.registry.upsert(actor="P-DATA", records=small_district_records(), request_id=f"bench-{kind}-district")
            clients[kind] = rpc
        # Check the queues really are what is compared.
        for kind, uri in uris.items():
            vhost = uri.rsplit("/", 1)[1].replace("%2F", "/")
            from urllib.parse import unquote

            state = RabbitManagement(uri).queue(unquote(vhost), "rpc-ticketing")
            assert state["type"] == kind, f"rpc-ticketing in the {kind} vhost is {state['type']}"
        tag = uuid.uuid4().hex[:8]

        def body(kind: str, i: int) -> dict:
            return {"resident_id": "P2" if i % 2 else "P3", "category": ("leak", "lift", "water", "noise")[i % 4],
                    "building_id": "B1" if i % 3 else "B2", "description": f"第{i}号问题：楼道灯不亮",
                    "request_id": f"bench-{tag}-{kind}-{i:08d}"}

        results = {k: {"submit_seq": [], "submit_p50": [], "submit_pipe": [], "resolve_seq": [],
                       "resolve_p50": []} for k in KINDS}
        for kind, rpc in clients.items():  # warm-up
            for i in range(20):
                rpc.call("ticketing", "submit", body(kind, 90_000_000 + i))
                rpc.registry.resolve(building_id="B1")
        for r in range(ROUNDS):
            log(f"quorum vs classic: round {r + 1} of {ROUNDS}")
            for kind in (KINDS if r % 2 == 0 else tuple(reversed(KINDS))):
                rpc, out, base = clients[kind], results[kind], 1_000_000 * (r + 1)
                seq = measure_sequential(lambda i, k=kind, b=base, rpc=rpc: rpc.call("ticketing", "submit", body(k, b + i)),
                                         max_calls=100_000, max_seconds=ROUND_SECONDS)
                out["submit_seq"].append(seq.throughput)
                out["submit_p50"].append(percentile(seq.latencies, 50) * 1000)
                pipe = measure_pipelined(
                    lambda i, k=kind, b=base, rpc=rpc: rpc.call_async("ticketing", "submit", body(k, b + 500_000 + i)),
                    lambda pending: pending.result(), window=WINDOW, max_calls=100_000, max_seconds=ROUND_SECONDS)
                out["submit_pipe"].append(pipe.throughput)
                res = measure_sequential(lambda i, rpc=rpc: rpc.registry.resolve(building_id="B1" if i % 2 else "B2"),
                                         max_calls=100_000, max_seconds=ROUND_SECONDS)
                out["resolve_seq"].append(res.throughput)
                out["resolve_p50"].append(percentile(res.latencies, 50) * 1000)
        for rpc in clients.values():
            rpc.close()
    finally:
        env.teardown()
    return _report(results)


def _report(results: dict) -> str:
    c, q = results["classic"], results["quorum"]

    def row(label: str, key: str, unit: str, higher_is_better: bool = True) -> str:
        cv, qv = median(c[key]), median(q[key])
        ratio = qv / cv if cv else float("nan")
        fmt = "{:.0f}" if unit == "/s" else "{:.2f}"
        return (f"| {label} | {fmt.format(cv)} {unit} | {fmt.format(qv)} {unit} | {ratio:.2f} | "
                f"{'higher' if higher_is_better else 'lower'} is better |")

    lines = [
        "## Quorum versus classic queues",
        "",
        "Ticket intake (`ticketing.submit`: persistent, publisher-confirmed, idempotent) and `registry.resolve`",
        "(a transient query) against two copies of registry + ticketing on the local single-node broker, one",
        "on classic queues and one on quorum queues (`messaging.queue_type`), rounds alternating between them",
        f"({ROUNDS} rounds of {ROUND_SECONDS:g} s each; medians). Ratio = quorum / classic, both measured in",
        "this run. SQLite databases for both, so the queues are the only difference. On a three-node cluster",
        "a quorum queue also replicates each message to a majority before confirming it: expect lower figures there.",
        "",
        "| what | classic (baseline) | quorum | ratio | |",
        "|---|---|---|---|---|",
        row("intake, sequential", "submit_seq", "/s"),
        row("intake, sequential p50", "submit_p50", "ms", higher_is_better=False),
        row(f"intake, {WINDOW} in flight", "submit_pipe", "/s"),
        row("`registry.resolve`, sequential", "resolve_seq", "/s"),
        row("`registry.resolve`, p50", "resolve_p50", "ms", higher_is_better=False),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(), end="")
