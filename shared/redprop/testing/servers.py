"""A RabbitMQ node and a PostgreSQL cluster that a test owns: to stop, kill -9 and start again.

Fault tests must never restart the machine's shared servers, so these run beside them on free ports,
with their data in a temporary folder:

    with PrivateRabbit(tmp) as rabbit:       # rabbit.amqp_uri, rabbit.management_port
        rabbit.stop(); rabbit.start()        # a graceful broker stop (connections closed)
        rabbit.kill(); rabbit.start()        # kill -9 of the node; durable queues survive on disk
    with PrivatePostgres(tmp) as pg:         # pg.server_url (database postgres, user postgres, trust)
        pg.stop(); pg.start(); pg.kill()

They need the installed ``rabbitmq-server`` (under /usr/lib/rabbitmq/bin) and PostgreSQL binaries
(under /usr/lib/postgresql/*/bin); PostgreSQL refuses to run as root, so as root it runs as ``postgres``.
``REDPROP_TEST_RABBITMQ=4`` runs the RabbitMQ nodes from the RabbitMQ 4 that ``scripts/rabbitmq4.sh fetch
DIR`` unpacked in ``REDPROP_TEST_RABBITMQ4_DIR`` instead (see ``rabbit_installation``).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
#: Where ``make rabbitmq4-test`` keeps the fetched RabbitMQ 4 unless REDPROP_TEST_RABBITMQ4_DIR says.
RABBITMQ4_DEFAULT_DIR = Path.home() / ".cache" / "redprop" / "rabbitmq4"


def rabbit_installation() -> tuple[Path, dict[str, str]]:
    """The RabbitMQ the test nodes run: its ``bin`` folder and what its environment needs.

    The machine's (Debian 12: 3.10.8) unless ``REDPROP_TEST_RABBITMQ=4``: then trixie's 4.x unpacked by
    ``scripts/rabbitmq4.sh fetch`` (its Erlang 27 found first on PATH, its root named by ERL_ROOTDIR).
    """
    wanted = os.environ.get("REDPROP_TEST_RABBITMQ", "")
    if wanted in ("", "system"):
        return RABBIT_BIN, {}
    if wanted != "4":
        raise RuntimeError(f"REDPROP_TEST_RABBITMQ={wanted!r}: use 4 (or leave it unset for the machine's)")
    root = Path(os.environ.get("REDPROP_TEST_RABBITMQ4_DIR") or RABBITMQ4_DEFAULT_DIR) / "root"
    if not (root / ".complete").exists():
        raise RuntimeError(f"no RabbitMQ 4 unpacked under {root}: run scripts/rabbitmq4.sh fetch {root.parent}")
    erlang = root / "usr" / "lib" / "erlang"
    return root / "usr" / "lib" / "rabbitmq" / "bin", {
        "PATH": f"{erlang / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}", "ERL_ROOTDIR": str(erlang)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


class PrivateRabbit:
    """A RabbitMQ node of its own (name, ports, data, cookie), with the management plugin."""

    def __init__(self, base: Path):
        self.base = Path(base)
        self.bin, extra_env = rabbit_installation()
        self.port, self.management_port, self.dist_port = free_port(), free_port(), free_port()
        self.node = f"redprop-fault-{os.getpid()}-{self.port}@localhost"
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n")
        (self.base / "enabled_plugins").write_text("[rabbitmq_management].\n")
        # Only what the node needs: the machine's rabbitmq-env.conf names the shared node.
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.base),
            "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"), "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "node.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            **extra_env,
        }

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([str(self.bin / "rabbitmqctl"), "-n", self.node, *args], env=self._env,
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"rabbitmqctl {args[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")

    def start(self, timeout: float = 60) -> None:
        subprocess.run([str(self.bin / "rabbitmq-server"), "-detached"], env=self._env, check=True,
                       capture_output=True, timeout=timeout, cwd=self.base)
        self._ctl("wait", str(self.base / "node.pid"), "--timeout", str(int(timeout)), timeout=timeout + 5)
        _wait(lambda: _port_open(self.port) and _port_open(self.management_port), timeout, "the private broker")

    def ensure_running(self) -> None:
        if not _port_open(self.port):
            self.start()

    def stop(self) -> None:
        """A graceful stop of the whole node: clients see their connections closed."""
        self._ctl("stop")
        _wait(lambda: not _port_open(self.port), 30, "the private broker to stop")

    def kill(self) -> None:
        """kill -9 of the node's Erlang VM, as a crash or the OOM killer would."""
        pid = int((self.base / "node.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: not _port_open(self.port), 30, "the private broker to die")
        (self.base / "node.pid").unlink(missing_ok=True)

    def close(self) -> None:
        """Kill the node's VM if it is still alive, listening or not: a cluster node left alone in a
        minority pauses (``pause_minority``) and closes its listeners, but lives on."""
        pid_file = self.base / "node.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
            _wait(lambda: not _alive(pid), 30, "the private broker to die")
        except (ProcessLookupError, RuntimeError):
            pass
        pid_file.unlink(missing_ok=True)

    def __enter__(self) -> PrivateRabbit:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb in a temporary folder, a free port, trust authentication).

    As root the cluster belongs to ``postgres``, so ``base`` must be reachable by that user (pytest's
    ``tmp_path`` is not: its parent is private to root); ``temporary_base()`` makes such a folder.
    """

    @staticmethod
    def temporary_base() -> Path:
        base = Path(tempfile.mkdtemp(prefix="redprop-pg-"))
        os.chmod(base, 0o755)
        return base

    def __init__(self, base: Path):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1]).parent
        self.base = Path(base)
        self.data = self.base / "data"
        self.port = free_port()
        self.base.mkdir(parents=True, exist_ok=True)
        self._user = []
        if os.geteuid() == 0:  # initdb and postgres refuse root
            self._user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.base, user="postgres")
            os.chmod(self.base, 0o755)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    @property
    def server_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self._user, str(self.bin / tool), *args], capture_output=True, text=True,
                              timeout=60)
        if done.returncode:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-500:]}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "server.log"), "-w", "start")

    def ensure_running(self) -> None:
        if not _port_open(self.port):
            self.start()

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: sessions are terminated, as in a restart for maintenance."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def kill(self) -> None:
        """kill -9 of the postmaster; its backends notice and exit by themselves, and the next start
        recovers from the write-ahead log."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = _children_of(pid)
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: not _port_open(self.port), 30, "the private PostgreSQL to die")
        # Until the last orphaned backend has gone, its shared memory blocks a new postmaster.
        _wait(lambda: not any(_alive(c) for c in children), 30, "the private PostgreSQL's backends to exit")

    def close(self) -> None:
        try:
            if _port_open(self.port):
                self.stop()
        except (OSError, RuntimeError, subprocess.SubprocessError):
            pass

    def __enter__(self) -> PrivatePostgres:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited; only its parent's wait is missing
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False
