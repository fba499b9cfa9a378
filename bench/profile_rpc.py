"""Profile the registry under the RPC bench's load with py-spy; writes ``bench/profiles/``.

``python -m bench.profile_rpc [--seconds 8] [--out bench/profiles]`` sets up what ``python -m bench``
sets up (a fresh vhost, the sample district imported, into SQLite here), starts ``redprop run registry``,
then samples it with ``py-spy record`` while this process calls ``registry.resolve`` through
:class:`RpcClient`, first pipelined (32 in flight), then sequentially. It writes, per phase, the folded
stacks (``registry-<phase>.raw``, for ``flamegraph.pl`` or speedscope) and a top-N text summary
(``registry-<phase>.txt``, by :mod:`bench.profiling`: the functions with the most samples, on the stack and on top of it).

Not a benchmark (py-spy's sampling costs the service a little): it says where the time goes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from bench.common import (
    PYTHON,
    ROOT,
    CpuMeter,
    Environment,
    log,
    measure_pipelined,
    measure_sequential,
    queue_has_consumers,
    wait_until,
)
from bench.profiling import Profile


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_rpc", description=__doc__)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--out", default=str(ROOT / "bench" / "profiles"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from bench.__main__ import building_ids, timed_import
    from bench.redprop_rpc import RedpropClient, start_registry, write_config
    from redprop.services.registry.sample import write_sample

    env = Environment()
    client = None
    try:
        env.setup()
        config = write_config(env)
        # resolve answers from memory: SQLite spares the profile PostgreSQL's slow bulk import
        data = yaml.safe_load(config.read_text())
        data["services"]["registry"]["database_url"] = f"sqlite:///{env.tmp / 'registry.db'}"
        config.write_text(yaml.safe_dump(data))
        timed_import(env, config, write_sample(env.tmp / "sample"))
        proc = start_registry(env, config)
        client = RedpropClient(config, building_ids())
        measure_sequential(client.call, max_calls=500, max_seconds=1.0)
        measure_pipelined(client.send, client.wait, window=32, max_calls=2000, max_seconds=1.0)
        phases = {
            "pipelined": lambda: measure_pipelined(client.send, client.wait, window=32, max_calls=10 ** 7,
                                                   max_seconds=args.seconds),
            "sequential": lambda: measure_sequential(client.call, max_calls=10 ** 7, max_seconds=args.seconds),
        }
        for phase, load in phases.items():
            profile = Profile(proc.pid, out / f"registry-{phase}.txt", f"# registry.resolve, {phase} load",
                              keep_raw=True, rate=args.rate, gil=False).start()
            time.sleep(0.5)
            result = load()
            profile.stop()
            log(f"{phase}: {result.throughput:,.0f} calls/s while sampled")
        (out / "registry-cpu-per-call.txt").write_text(cpu_per_call(env, proc, client, args.seconds))
    finally:
        if client is not None:
            client.close()
        env.teardown()
    return 0


def cpu_per_call(env: Environment, registry, client, seconds: float) -> str:
    """CPU microseconds per call, server and client, redprop against the raw echo baseline: unlike
    latency, this does not depend on what else the shared machine is doing."""
    import json

    from bench import raw_amqp
    from bench.__main__ import building_ids

    reply = client.call(0)
    reply_file = env.tmp / "reply.json"
    reply_file.write_bytes(json.dumps({"result": reply.model_dump(mode="json"), "error": None},
                                      ensure_ascii=False).encode())
    echo = env.spawn("raw-echo", [PYTHON, "-m", "bench.raw_amqp", env.amqp_uri, raw_amqp.QUEUE, str(reply_file)])
    wait_until(lambda: queue_has_consumers(env.amqp_uri, raw_amqp.QUEUE), timeout=60, what="the raw echo server",
               proc=echo, env=env, name="raw-echo")
    raw = raw_amqp.RawClient(env.amqp_uri, building_ids())
    contract_echo = env.spawn("raw-echo-contract", [PYTHON, "-m", "bench.raw_amqp", env.amqp_uri, raw_amqp.CONTRACT_QUEUE,
                                                    str(reply_file), "--contract"])
    wait_until(lambda: queue_has_consumers(env.amqp_uri, raw_amqp.CONTRACT_QUEUE), timeout=60,
               what="the raw echo server with the contract", proc=contract_echo, env=env, name="raw-echo-contract")
    contract_raw = raw_amqp.RawClient(env.amqp_uri, building_ids(), contract=True)
    import os

    rows = []
    try:
        for label, target, server in (("raw AMQP", raw, echo), ("raw AMQP + the contract (pydantic both sides)",
                                                                contract_raw, contract_echo), ("redprop", client, registry)):
            for mode in ("sequential", "pipelined"):
                meter = CpuMeter({"server": lambda pid, _n, s=server.pid: pid == s,
                                  "client": lambda pid, _n: pid == os.getpid()}).start()
                if mode == "sequential":
                    calls = len(measure_sequential(target.call, max_calls=10 ** 7, max_seconds=seconds).latencies)
                else:
                    calls = measure_pipelined(target.send, target.wait, window=32, max_calls=10 ** 7,
                                              max_seconds=seconds).calls
                spent = meter.stop().spent
                rows.append((label, mode, calls, spent["server"] / calls * 1e6, spent["client"] / calls * 1e6))
    finally:
        raw.close()
        contract_raw.close()
        env.stop(echo)
        env.stop(contract_echo)
    lines = ["# CPU per call: registry.resolve against the raw AMQP echo (same reply bytes)", "",
             "The middle rows add only redprop's contract work to the raw round trip (request and reply models, as",
             "the registry and RpcClient use them): what is left between them and redprop is nameko, kombu and",
             "the service's dependencies.", "",
             "| target | load | calls | server CPU µs/call | client CPU µs/call |", "|---|---|---:|---:|---:|"]
    lines += [f"| {t} | {m} | {c:,} | {s:,.0f} | {k:,.0f} |" for t, m, c, s, k in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
