"""A three-node RabbitMQ cluster on this machine, for the cluster fault test and by hand.

    with RabbitCluster(base) as cluster:            # three nodes, clustered, management on each
        cluster.amqp_uri                            # every node's address: kombu's failover list
        cluster.leader_of("rpc-ticketing", vhost)   # the node leading a quorum queue
        cluster.nodes[0].stop(); cluster.nodes[0].start()
        cluster.nodes[1].kill(); cluster.nodes[1].start()

Each node is a :class:`~redprop.testing.servers.PrivateRabbit` (its own node name, ports, data folder),
with one Erlang cookie shared by the three so they can cluster. The machine's own broker (node
``rabbit@localhost``, ports 5672/15672/25672) is never touched. ``scripts/rabbit-cluster.sh`` runs the
same from a shell (``python -m redprop.testing.cluster start|stop|status DIR``).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

from redprop.messaging.management import ManagementUnavailable, RabbitManagement
from redprop.testing.servers import PrivateRabbit, _port_open, _wait


class ClusterNode(PrivateRabbit):
    """A private node with a given name and the cluster's cookie."""

    def __init__(self, base: Path, name: str, cookie: str):
        super().__init__(base)
        self.node = f"{name}@localhost"
        self._env["RABBITMQ_NODENAME"] = self.node
        cookie_file = self.base / ".erlang.cookie"  # HOME is the node's folder: the CLI tools read it too
        cookie_file.write_text(cookie)
        os.chmod(cookie_file, 0o400)

    def configure(self, peers: list[str]) -> None:
        """Cluster by configuration (classic peer discovery): the node joins its peers as it boots, with
        no ``rabbitmqctl`` round trips (each one boots an Erlang VM: seconds on a busy machine)."""
        lines = [f"listeners.tcp.default = 127.0.0.1:{self.port}", "management.tcp.ip = 127.0.0.1",
                 f"management.tcp.port = {self.management_port}",
                 "cluster_formation.peer_discovery_backend = classic_config",
                 # A stopped peer comes back on its own; nobody is partitioned away on this machine.
                 "cluster_partition_handling = pause_minority"]
        lines += [f"cluster_formation.classic_config.nodes.{i} = {peer}" for i, peer in enumerate(peers, 1)]
        (self.base / "rabbitmq.conf").write_text("\n".join(lines) + "\n")

    def boot(self) -> subprocess.Popen:
        return subprocess.Popen([str(self.bin / "rabbitmq-server"), "-detached"], env=self._env, cwd=self.base,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self, timeout: float = 90) -> None:
        """Boot the node (it rejoins the cluster from its data folder) and wait for its ports."""
        self.boot().wait(timeout=timeout)
        _wait(lambda: self.running and _port_open(self.management_port), timeout, self.node)

    def stop(self) -> None:
        """A graceful stop: ``rabbitmqctl stop`` (connections closed, leadership handed over)."""
        self.ctl("stop", timeout=90)
        _wait(lambda: not self.running, 60, f"{self.node} to stop")

    def ctl(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run([str(self.bin / "rabbitmqctl"), "-n", self.node, *args], env=self._env,
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"rabbitmqctl {args[0]} on {self.node} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    @property
    def running(self) -> bool:
        return _port_open(self.port)

    def management(self, amqp_uri: str | None = None) -> RabbitManagement:
        return RabbitManagement(amqp_uri or self.amqp_uri, port=self.management_port)

    def describe(self) -> dict:
        return {"node": self.node, "amqp_port": self.port, "management_port": self.management_port,
                "dist_port": self.dist_port, "base": str(self.base), "running": self.running}


class RabbitCluster:
    def __init__(self, base: Path, size: int = 3, prefix: str | None = None):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        cookie = secrets.token_hex(16).upper()
        prefix = prefix or f"redprop-cluster-{os.getpid()}"
        self.nodes = [ClusterNode(self.base / f"node{i}", f"{prefix}-{i}", cookie) for i in range(1, size + 1)]
        # The first node's peer list is itself (it forms the cluster), each other's the first and itself:
        # RabbitMQ 4's peer discovery holds a virgin node's boot while listed peers are unreachable, and
        # two virgin nodes booting side by side must not pick each other.
        first = self.nodes[0]
        for node in self.nodes:
            node.configure([first.node] if node is first else [first.node, node.node])

    @property
    def amqp_uri(self) -> str:
        return ";".join(n.amqp_uri for n in self.nodes)

    def start(self) -> RabbitCluster:
        # The first node boots alone (the others must find it up, or one might start a cluster of its
        # own), then the others boot side by side and join it by configuration.
        first, *others = self.nodes
        first.start()
        for proc in [n.boot() for n in others]:
            proc.wait(timeout=90)
        for node in others:
            _wait(lambda n=node: n.running and _port_open(n.management_port), 90, node.node)
        _wait(lambda: len(self.running_nodes()) == len(self.nodes), 90, "every node to join the cluster")
        return self

    def running_nodes(self) -> list[str]:
        """Names of the cluster's running nodes, as a live node's management API sees them."""
        try:
            nodes = self.live_management().request("GET", "/nodes") or []
        except (ManagementUnavailable, OSError, ValueError):
            return []
        return sorted(n["name"] for n in nodes if n.get("running"))

    def live_management(self, amqp_uri: str | None = None) -> RabbitManagement:
        for node in self.nodes:
            if node.running and _port_open(node.management_port):
                return node.management(amqp_uri and amqp_uri.split(";")[0])
        raise ManagementUnavailable("no node of the cluster answers")

    def create_vhost(self, vhost: str, timeout: float = 180) -> None:
        """Create ``vhost`` on the cluster, patiently: a new vhost is started on every node before the
        answer, and right after the cluster booted, on a loaded machine, a node not yet ready makes that a
        500 or a timeout. Creating a vhost is idempotent, so it is asked again until it answers."""
        deadline = time.monotonic() + timeout
        state: dict[str, str] = {}
        while True:
            try:
                management = self.live_management()
                management.timeout = 60
                management.create_vhost(vhost)
                # A 500 can leave the vhost defined but not started on one node: every client sent there
                # is refused ("vhost is down"). Started where it is not, until it runs on every node.
                state = management.vhost_state(vhost)
                if len(state) == len(self.nodes) and all(how == "running" for how in state.values()):
                    return
                for node in (node for node, how in state.items() if how == "stopped"):
                    management.start_vhost(vhost, node)
            except (ManagementUnavailable, urllib.error.HTTPError, OSError) as exc:
                if time.monotonic() > deadline or (isinstance(exc, urllib.error.HTTPError) and exc.code < 500):
                    raise
            if time.monotonic() > deadline:
                raise RuntimeError(f"vhost {vhost} does not run on every node: {state}")
            time.sleep(2)

    def leader_of(self, queue: str, vhost: str) -> ClusterNode:
        """The node leading the quorum queue ``queue`` (from the management API)."""
        state = self.live_management().queue(vhost, queue)
        if not state or not state.get("leader"):
            raise RuntimeError(f"{queue} in {vhost} has no leader (not a quorum queue?): {state}")
        return next(n for n in self.nodes if n.node == state["leader"])

    def node_named(self, name: str) -> ClusterNode:
        return next(n for n in self.nodes if n.node == name)

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def __enter__(self) -> RabbitCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


# -- from a shell (scripts/rabbit-cluster.sh) --------------------------------------------------------

STATE_FILE = "cluster.json"


def _load(base: Path) -> RabbitCluster:
    state = json.loads((base / STATE_FILE).read_text())
    cluster = RabbitCluster.__new__(RabbitCluster)
    cluster.base = base
    cluster.nodes = []
    for item in state["nodes"]:
        node = ClusterNode.__new__(ClusterNode)
        PrivateRabbit.__init__(node, Path(item["base"]))
        # PrivateRabbit picked new ports and rewrote its config; put the cluster's back.
        node.port, node.management_port, node.dist_port = item["amqp_port"], item["management_port"], item["dist_port"]
        node.node = item["node"]
        node._env.update(RABBITMQ_NODENAME=node.node, RABBITMQ_NODE_PORT=str(node.port),
                         RABBITMQ_DIST_PORT=str(node.dist_port))
        cluster.nodes.append(node)
    for node in cluster.nodes:
        node.configure([n.node for n in cluster.nodes])
    return cluster


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop", "status"):
        print("usage: python -m redprop.testing.cluster start|stop|status DIR", file=sys.stderr)
        return 2
    command, base = argv[0], Path(argv[1]).resolve()
    if command == "start":
        if (base / STATE_FILE).exists() and any(n.running for n in _load(base).nodes):
            print(f"a cluster is already running from {base}; stop it first", file=sys.stderr)
            return 1
        cluster = RabbitCluster(base, prefix=f"redprop-cluster-{int(time.time())}").start()
        (base / STATE_FILE).write_text(json.dumps({"nodes": [n.describe() for n in cluster.nodes]}, indent=2))
        print(f"three nodes clustered: {', '.join(cluster.running_nodes())}")
        print(f"REDPROP_AMQP_URI='{cluster.amqp_uri}'")
        for node in cluster.nodes:
            print(f"  {node.node}: amqp {node.port}, management http://127.0.0.1:{node.management_port}/")
        return 0
    if not (base / STATE_FILE).exists():
        print(f"no cluster was started from {base}", file=sys.stderr)
        return 1
    cluster = _load(base)
    if command == "status":
        for node in cluster.nodes:
            print(json.dumps(node.describe()))
        print(f"running nodes: {', '.join(cluster.running_nodes()) or 'none'}")
        return 0
    for node in cluster.nodes:  # stop: gracefully, or kill what does not stop
        if node.running:
            try:
                node.ctl("stop", timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                os.kill(int((node.base / "node.pid").read_text()), signal.SIGKILL)
    print(f"stopped the cluster of {base}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
