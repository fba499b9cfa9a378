"""``registry.resolve`` on the real registry service, called through redprop's :class:`RpcClient`.

The service runs as ``redprop run registry`` in its own process (``REDPROP_CONFIG`` points at a YAML file
in the bench's temp dir: the bench vhost, the bench PostgreSQL database, a free metrics port) and is
ready when ``/readyz`` answers 200 and its RPC queue has a consumer.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.common import REDPROP, Environment, free_port, http_ok, queue_has_consumers, wait_until

QUEUE = "rpc-registry"


def write_config(env: Environment, *, max_workers: int | None = None, name: str = "redprop.yaml",
                 amqp_uri: str | None = None) -> Path:
    registry: dict = {"database_url": env.database_url, "metrics_port": free_port()}
    if max_workers is not None:
        registry["max_workers"] = max_workers
    path = env.tmp / name
    path.write_text(yaml.safe_dump({
        "amqp_uri": amqp_uri or env.amqp_uri, "data_dir": str(env.tmp / "data"), "log_level": "WARNING",
        "services": {"registry": registry},
    }), encoding="utf-8")
    return path


def start_registry(env: Environment, config: Path, name: str = "registry", wait: bool = True):
    """Start ``redprop run registry``; returns the process (once it serves requests, if ``wait``)."""
    proc = env.spawn(name, [REDPROP, "run", "registry"], {"REDPROP_CONFIG": str(config)})
    if wait:
        wait_for_registry(env, config, proc, name)
    return proc


def wait_for_registry(env: Environment, config: Path, proc, name: str) -> None:
    data = yaml.safe_load(config.read_text())
    port = data["services"]["registry"]["metrics_port"]
    wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/readyz") and queue_has_consumers(data["amqp_uri"], QUEUE),
               timeout=90, what="the registry service", proc=proc, env=env, name=name)


class RedpropClient:
    name = "redprop"

    def __init__(self, config: Path, building_ids: list[str]):
        from redprop.config import load_settings
        from redprop.messaging.client import RpcClient

        self.building_ids = building_ids
        self.rpc = RpcClient(load_settings(config), timeout=30)

    def _bid(self, i: int) -> str:
        return self.building_ids[i % len(self.building_ids)]

    def call(self, i: int):
        return self.rpc.registry.resolve(building_id=self._bid(i))

    def send(self, i: int):
        return self.rpc.call_async("registry", "resolve", building_id=self._bid(i))

    @staticmethod
    def wait(pending):
        return pending.result()

    def close(self) -> None:
        self.rpc.close()
