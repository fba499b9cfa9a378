"""``python -m bench``: run every benchmark and write docs/benchmarks.md (see bench/__init__.py)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from bench import raw_amqp  # noqa: E402
from bench.common import (  # noqa: E402
    PYTHON,
    REDPROP,
    ROOT,
    Environment,
    log,
    measure_pipelined,
    measure_sequential,
    median,
    percentile,
    queue_has_consumers,
    wait_until,
)
from bench.nameko_defaults import QUEUE as NAMEKO_QUEUE  # noqa: E402
from bench.nameko_defaults import NamekoClient  # noqa: E402
from bench.redprop_rpc import (  # noqa: E402
    RedpropClient,
    start_registry,
    wait_for_registry,
    write_config,
)
from bench.report import LABELS  # noqa: E402

#: In the order they are measured in each round. "raw" is the baseline the targets are ratios against.
TARGETS = tuple(LABELS)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds per target (default 5)")
    p.add_argument("--seconds", type=float, default=2.0, help="time limit of each measurement (default 2)")
    p.add_argument("--calls", type=int, default=2000, help="call limit of each sequential measurement")
    p.add_argument("--window", type=int, default=32, help="calls in flight when pipelining (default 32)")
    p.add_argument("--sweep", default="1,5,10,32,64",
                   help="registry max_workers values to sweep for pipelined throughput ('' to skip)")
    p.add_argument("--sections", default=None,
                   help="other services' benchmarks to run (bench/<name>_bench.py modules, comma-separated; "
                        "default: all found; '' for none)")
    p.add_argument("--only", default=None,
                   help="run only these sections (comma-separated) and replace them in --out, keeping the rest")
    p.add_argument("--section-timeout", type=float, default=600, help="seconds allowed to each of them")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--json", default=None, help="also write the raw results as JSON here")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (service logs)")
    p.add_argument("--quick", action="store_true", help="a fast smoke run (1 round, 0.5 s, no sweep)")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.calls, args.sweep = 1, 0.5, 300, ""
        args.sections = "" if args.sections is None else args.sections
    args.rounds = max(1, min(args.rounds, 20))
    args.seconds = max(0.2, min(args.seconds, 20.0))
    return args


def run(cmd: list[str], env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    import os

    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def timed_import(env: Environment, config: Path, files: list[Path]) -> dict:
    run([REDPROP, "migrate", "registry"], {"REDPROP_CONFIG": str(config)})
    started = time.perf_counter()
    proc = run([PYTHON, "-m", "bench.registry_import", str(config), *map(str, files)])
    wall = time.perf_counter() - started
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


def building_ids() -> list[str]:
    from redprop.services.registry.sample import build_sample

    return sorted(b["id"] for b in build_sample()["buildings"])


def measure_round(clients: dict, args, results: dict, round_no: int) -> None:
    for key in TARGETS:
        client = clients[key]
        seq = measure_sequential(client.call, max_calls=args.calls, max_seconds=args.seconds)
        pipe = measure_pipelined(client.send, client.wait, window=args.window,
                                 max_calls=args.calls * 10, max_seconds=args.seconds)
        r = results["rpc"][key]
        r["latencies"].extend(seq.latencies)
        r["seq_rounds"].append(seq.throughput)
        r["pipe_rounds"].append(pipe.throughput)
        r["round_p50"].append(percentile(seq.latencies, 50))
        log(f"round {round_no}: {key:13} p50 {percentile(seq.latencies, 50) * 1e3:6.2f} ms  "
            f"p99 {percentile(seq.latencies, 99) * 1e3:6.2f} ms  seq {seq.throughput:7.0f}/s  "
            f"pipelined {pipe.throughput:7.0f}/s  ({len(seq.latencies)} + {pipe.calls} calls)")


def summarise(results: dict) -> None:
    for r in results["rpc"].values():
        lat = r.pop("latencies")
        r["samples"] = len(lat)
        r["p50_ms"] = percentile(lat, 50) * 1e3
        r["p90_ms"] = percentile(lat, 90) * 1e3
        r["p99_ms"] = percentile(lat, 99) * 1e3
        r["seq_per_s"] = median(r["seq_rounds"])
        r["pipe_per_s"] = median(r["pipe_rounds"])


def sweep(env: Environment, ids: list[str], values: list[int], args, results: dict) -> None:
    """One registry per max_workers value, all running at once, each in its own vhost; measured in
    interleaved rounds like the main targets, so drift on the machine hits every value alike."""
    configs, procs, clients = {}, {}, {}
    try:
        for n in values:
            configs[n] = write_config(env, max_workers=n, name=f"redprop-mw{n}.yaml",
                                      amqp_uri=env.add_vhost(f"mw{n}"))
            procs[n] = start_registry(env, configs[n], name=f"registry-mw{n}", wait=False)
        for n in values:
            wait_for_registry(env, configs[n], procs[n], f"registry-mw{n}")
            clients[n] = RedpropClient(configs[n], ids)
            measure_pipelined(clients[n].send, clients[n].wait, window=args.window, max_calls=500, max_seconds=0.5)
        rounds: dict[int, list[float]] = {n: [] for n in values}
        latencies: dict[int, list[float]] = {n: [] for n in values}
        seconds = min(args.seconds, 1.5)
        for _ in range(3):
            for n in values:
                rounds[n].append(measure_pipelined(clients[n].send, clients[n].wait, window=args.window,
                                                   max_calls=args.calls * 10, max_seconds=seconds).throughput)
                latencies[n] += measure_sequential(clients[n].call, max_calls=args.calls,
                                                   max_seconds=seconds / 3).latencies
    finally:
        for client in clients.values():
            client.close()
        for proc in procs.values():
            env.stop(proc)
    for n in values:
        results["sweep"].append({"max_workers": n, "pipe_per_s": median(rounds[n]), "pipe_rounds": rounds[n],
                                 "p50_ms": percentile(latencies[n], 50) * 1e3})
        log(f"sweep max_workers={n:3}: pipelined {median(rounds[n]):7.0f}/s  seq p50 "
            f"{percentile(latencies[n], 50) * 1e3:.2f} ms")


def section_modules(selected: str | None) -> list[str]:
    """Other services' benchmarks: ``bench/<name>_bench.py`` modules whose ``run()`` returns Markdown."""
    found = sorted(p.stem for p in Path(__file__).parent.glob("*_bench.py"))
    if selected is None:
        return found
    wanted = [n.strip() for n in selected.split(",") if n.strip()]
    wanted = [n if n.endswith("_bench") else f"{n}_bench" for n in wanted]
    unknown = [n for n in wanted if n not in found]
    if unknown:
        raise SystemExit(f"bench: no such benchmark module(s): {', '.join(unknown)} (found: {', '.join(found)})")
    return wanted


def run_section(module: str, timeout: float) -> dict:
    """Run one section in its own process (``python -m bench.<module>`` prints its Markdown)."""
    log(f"running {module}")
    started = time.monotonic()
    markdown, error = None, None
    try:
        proc = subprocess.run([PYTHON, "-W", "ignore", "-m", f"bench.{module}"], cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout)
        if proc.returncode == 0 and proc.stdout.strip():
            markdown = proc.stdout.strip() + "\n"
        else:
            lines = (proc.stderr or "").strip().splitlines() or ["no output"]
            error = f"exited with {proc.returncode}: {lines[-1]}"
    except subprocess.TimeoutExpired:
        error = f"did not finish within {timeout:g} s"
    seconds = time.monotonic() - started
    log(f"{module}: {'done' if markdown else error} ({seconds:.0f} s)")
    return {"module": module, "markdown": markdown, "error": error, "seconds": seconds}


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    results: dict = {"args": {k: v for k, v in vars(args).items() if k not in ("out", "json")},
                     "rpc": {k: {"seq_rounds": [], "pipe_rounds": [], "round_p50": [], "latencies": []}
                             for k in TARGETS},
                     "import": {}, "sweep": [], "sections": []}
    if args.only is not None:
        return splice_only(args)
    modules = section_modules(args.sections)
    env = Environment()
    clients: dict = {}
    try:
        env.setup()
        from redprop.services.registry.sample import write_sample

        files = write_sample(env.tmp / "sample")
        ids = building_ids()
        results["buildings"] = len(ids)

        # 1. The bulk import, into PostgreSQL (the database the service under test reads) and SQLite.
        config = write_config(env)
        results["import"]["postgresql"] = timed_import(env, config, files)
        sqlite_config = env.tmp / "redprop-sqlite.yaml"
        sqlite_config.write_text(f"amqp_uri: {env.amqp_uri}\ndata_dir: {env.tmp / 'sqlite'}\n")
        results["import"]["sqlite"] = timed_import(env, sqlite_config, files)
        for db, r in results["import"].items():
            log(f"import into {db}: {r['rows']:,} rows in {r['seconds']:.2f} s "
                f"({r['rows'] / r['seconds']:,.0f} rows/s; {r['wall_seconds']:.2f} s with start-up)")

        # 2. The RPC round trips (raw, raw + contract, raw confirmed, nameko, redprop), each server in its own process.
        start_registry(env, config)
        clients["redprop"] = RedpropClient(config, ids)
        reply = clients["redprop"].call(0)
        reply_file = env.tmp / "reply.json"
        reply_file.write_bytes(json.dumps({"result": reply.model_dump(mode="json"), "error": None},
                                          ensure_ascii=False).encode())
        results["reply_bytes"] = reply_file.stat().st_size
        proc = env.spawn("raw-echo", [PYTHON, "-m", "bench.raw_amqp", env.amqp_uri, raw_amqp.QUEUE,
                                      str(reply_file)])
        wait_until(lambda: queue_has_consumers(env.amqp_uri, raw_amqp.QUEUE), timeout=30,
                   what="the raw echo server", proc=proc, env=env, name="raw-echo")
        proc = env.spawn("raw-echo-contract", [PYTHON, "-m", "bench.raw_amqp", env.amqp_uri,
                                               raw_amqp.CONTRACT_QUEUE, str(reply_file), "--contract"])
        wait_until(lambda: queue_has_consumers(env.amqp_uri, raw_amqp.CONTRACT_QUEUE), timeout=30,
                   what="the raw echo server (contract)", proc=proc, env=env, name="raw-echo-contract")
        proc = env.spawn("raw-echo-confirmed", [PYTHON, "-m", "bench.raw_amqp", env.amqp_uri,
                                                raw_amqp.CONFIRMED_QUEUE, str(reply_file), "--confirm"])
        wait_until(lambda: queue_has_consumers(env.amqp_uri, raw_amqp.CONFIRMED_QUEUE), timeout=30,
                   what="the raw echo server (confirmed)", proc=proc, env=env, name="raw-echo-confirmed")
        proc = env.spawn("nameko-plain", [PYTHON, "-m", "bench.nameko_defaults", env.amqp_uri,
                                          env.database_url])
        wait_until(lambda: queue_has_consumers(env.amqp_uri, NAMEKO_QUEUE), timeout=60,
                   what="the plain nameko service", proc=proc, env=env, name="nameko-plain")
        clients["raw"] = raw_amqp.RawClient(env.amqp_uri, ids)
        clients["raw_contract"] = raw_amqp.RawClient(env.amqp_uri, ids, contract=True)
        clients["raw_confirmed"] = raw_amqp.RawClient(env.amqp_uri, ids, confirm=True)
        clients["nameko"] = NamekoClient(env.amqp_uri, ids)
        check = clients["nameko"].call(0)
        assert check == reply.model_dump(mode="json"), "the plain nameko service answers differently"

        log("warming up")
        for key in TARGETS:
            measure_sequential(clients[key].call, max_calls=500, max_seconds=1.0)
            measure_pipelined(clients[key].send, clients[key].wait, window=args.window,
                              max_calls=1000, max_seconds=0.5)
        for n in range(1, args.rounds + 1):
            measure_round(clients, args, results, n)
        summarise(results)
        for client in clients.values():
            client.close()
        clients.clear()

        # 3. What max_workers (= prefetch) does to redprop's pipelined throughput.
        values = [int(v) for v in args.sweep.split(",") if v.strip()]
        if values:
            for proc in list(env.processes):
                env.stop(proc)  # only the registry under test runs during the sweep
            sweep(env, ids, values, args, results)

        # 4. Other services' benchmarks, each in its own process, after the RPC figures are taken.
        for proc in list(env.processes):
            env.stop(proc)
        for module in modules:
            results["sections"].append(run_section(module, args.section_timeout))

        results["seconds"] = time.monotonic() - started
        from bench.report import machine_info, write_report

        results["machine"] = machine_info()
        out = Path(args.out)
        write_report(results, out)
        log(f"wrote {out} ({results['seconds']:.0f} s)")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        for client in clients.values():
            client.close()
        env.teardown(keep_files=args.keep)
    return 0


def splice_only(args) -> int:
    """``--only NAME``: re-measure some sections and put them in the existing report in place of the old."""
    from bench.report import splice_sections

    out = Path(args.out)
    sections = [run_section(module, args.section_timeout) for module in section_modules(args.only)]
    failed = [s for s in sections if not s["markdown"]]
    out.write_text(splice_sections(out.read_text() if out.exists() else "# Benchmarks\n", sections))
    log(f"replaced {', '.join(s['module'] for s in sections)} in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
