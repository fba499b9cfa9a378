"""Shared pieces of the benchmarks: the isolated environment, child processes and the measuring loops."""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REDPROP = str(Path(PYTHON).with_name("redprop"))
BROKER = "amqp://guest:guest@127.0.0.1:5672/%2F"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
MANAGEMENT_API = "http://127.0.0.1:15672/api"


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- statistics --------------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- measuring ---------------------------------------------------------------------------------------


@dataclass
class Sequential:
    """One sequential run: every call waits for the previous reply."""

    latencies: list[float]
    elapsed: float

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


@dataclass
class Pipelined:
    """One pipelined run: ``window`` calls in flight at all times."""

    calls: int
    elapsed: float
    window: int

    @property
    def throughput(self) -> float:
        return self.calls / self.elapsed if self.elapsed else 0.0


def measure_sequential(call: Callable[[int], object], *, max_calls: int, max_seconds: float) -> Sequential:
    """Call ``call(i)`` one after another until ``max_calls`` or ``max_seconds``, whichever comes first."""
    latencies: list[float] = []
    clock = time.perf_counter
    started = clock()
    deadline = started + max_seconds
    for i in range(max_calls):
        t0 = clock()
        call(i)
        t1 = clock()
        latencies.append(t1 - t0)
        if t1 >= deadline:
            break
    return Sequential(latencies, clock() - started)


def measure_pipelined(send: Callable[[int], object], wait: Callable[[object], object], *, window: int,
                      max_calls: int, max_seconds: float) -> Pipelined:
    """Keep ``window`` calls in flight: each reply read lets one more call go out. Counts completions."""
    clock = time.perf_counter
    in_flight: deque = deque()
    sent = done = 0
    started = clock()
    deadline = started + max_seconds
    while sent < min(window, max_calls):
        in_flight.append(send(sent))
        sent += 1
    while in_flight:
        wait(in_flight.popleft())
        done += 1
        if sent < max_calls and clock() < deadline:
            in_flight.append(send(sent))
            sent += 1
    return Pipelined(done, clock() - started, window)


# -- where the CPU goes -------------------------------------------------------------------------------


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> tuple[str, float] | None:
    """(command name, CPU seconds used so far) of a process; None if it is gone (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return name, (int(fields[11]) + int(fields[12])) / _clock_ticks()


def _machine_busy() -> float:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / _clock_ticks()  # all but idle and iowait


@dataclass
class CpuMeter:
    """CPU seconds spent by groups of processes between :meth:`start` and :meth:`stop`.

    ``groups`` maps a label to a predicate on (pid, command name); a process that started in between
    counts from zero (a database backend opened for the load). The whole machine is measured too, so
    a report can show how much of it the measured work took (this machine is shared and noisy).
    """

    groups: dict[str, Callable[[int, str], bool]]
    spent: dict[str, float] = field(default_factory=dict)
    _before: dict[int, float] = field(default_factory=dict)
    _machine: float = 0.0

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        out = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (found := _process_cpu(int(entry))) is not None:
                out[int(entry)] = found
        return out

    def start(self) -> CpuMeter:
        self._before = {pid: cpu for pid, (_name, cpu) in self._snapshot().items()}
        self._machine = _machine_busy()
        return self

    def stop(self) -> CpuMeter:
        self.spent = dict.fromkeys(self.groups, 0.0)
        for pid, (name, cpu) in self._snapshot().items():
            for label, belongs in self.groups.items():
                if belongs(pid, name):
                    self.spent[label] += cpu - self._before.get(pid, 0.0)
                    break
        self.spent["whole machine"] = _machine_busy() - self._machine
        return self


# -- the isolated environment ------------------------------------------------------------------------


def _management(method: str, path: str, body: dict | None = None, *, user: str = "guest",
                password: str = "guest") -> None:
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, MANAGEMENT_API, user, password)
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(manager))
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(MANAGEMENT_API + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    opener.open(req, timeout=10).close()


def management_json(path: str) -> dict:
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, MANAGEMENT_API, "guest", "guest")
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(manager))
    with opener.open(MANAGEMENT_API + path, timeout=10) as resp:
        return json.loads(resp.read())


def delete_vhost(amqp_uri: str) -> None:
    parts = urlsplit(amqp_uri)
    vhost = unquote(parts.path.lstrip("/"))
    if vhost in ("", "/"):
        return  # never the default vhost
    try:
        _management("DELETE", f"/vhosts/{quote(vhost, safe='')}",
                    user=unquote(parts.username or "guest"), password=unquote(parts.password or "guest"))
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In a child: get SIGTERM if the bench process dies, so no server outlives a killed run (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - other platforms: teardown still stops the children
        pass


@dataclass
class Environment:
    """A temp dir, a fresh vhost and a fresh PostgreSQL database for one bench run; removed at the end."""

    tag: str = field(default_factory=lambda: f"{os.getpid()}")
    tmp: Path = field(init=False)
    amqp_uri: str = field(init=False)
    database: str = field(init=False)
    processes: list[subprocess.Popen] = field(default_factory=list)
    extra_vhosts: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="redprop-bench-"))
        self.database = f"redprop_bench_{self.tag}"
        self.amqp_uri = BROKER

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.database}"

    def setup(self) -> None:
        from redprop.cli.demo import fresh_vhost
        from redprop.config import Settings

        isolated = fresh_vhost(Settings(amqp_uri=BROKER), f"redprop-bench-{self.tag}")
        if isolated is None:
            raise SystemExit("bench: the RabbitMQ management API (127.0.0.1:15672) is needed for a fresh vhost")
        self.amqp_uri = isolated.amqp_uri
        self._postgres(f'DROP DATABASE IF EXISTS "{self.database}"')
        self._postgres(f'CREATE DATABASE "{self.database}"')
        log(f"vhost {unquote(urlsplit(self.amqp_uri).path[1:])}, database {self.database}, files in {self.tmp}")

    def add_vhost(self, suffix: str) -> str:
        """Another fresh vhost for this run (removed at teardown); returns its AMQP URI."""
        from redprop.cli.demo import fresh_vhost
        from redprop.config import Settings

        isolated = fresh_vhost(Settings(amqp_uri=BROKER), f"redprop-bench-{self.tag}-{suffix}")
        if isolated is None:
            raise RuntimeError("the RabbitMQ management API did not answer")
        self.extra_vhosts.append(isolated.amqp_uri)
        return isolated.amqp_uri

    def _postgres(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(f"{POSTGRES}/postgres", connect_timeout=5)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start a child process; its output goes to ``<tmp>/<name>.log``."""
        out = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        self.processes.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 15) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc in self.processes:
            self.processes.remove(proc)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.tmp / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def teardown(self, keep_files: bool = False) -> None:
        for proc in list(self.processes):
            self.stop(proc)
        for uri in [self.amqp_uri, *self.extra_vhosts]:
            try:
                delete_vhost(uri)
            except Exception as exc:  # noqa: BLE001 - best effort clean-up
                log(f"could not delete the vhost: {exc}")
        try:
            self._postgres(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except Exception as exc:  # noqa: BLE001
            log(f"could not drop database {self.database}: {exc}")
        if not keep_files:
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, proc: subprocess.Popen | None = None,
               env: Environment | None = None, name: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = env.log_tail(name) if env else ""
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}\n{tail}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    tail = env.log_tail(name) if env else ""
    raise RuntimeError(f"{what}: not ready within {timeout:g} s\n{tail}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def queue_has_consumers(amqp_uri: str, queue: str, at_least: int = 1) -> bool:
    vhost = quote(unquote(urlsplit(amqp_uri).path.lstrip("/")), safe="")
    try:
        info = management_json(f"/queues/{vhost}/{quote(queue, safe='')}")
    except urllib.error.HTTPError:
        return False
    return info.get("consumers", 0) >= at_least
