"""Start services in this process, call them, stop them: what integration tests and scripts need.

    with Suite(settings, ["registry"]) as suite:
        suite.rpc.registry.resolve(building_id="B1")

The process must be monkey-patched by eventlet (redprop's pytest plugin does it first thing).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

from redprop.config import Settings
from redprop.db.migrate import has_database, upgrade
from redprop.messaging.client import RpcClient
from redprop.plugins import load_service
from redprop.runner import SuiteRunner


class Suite:
    def __init__(self, settings: Settings, services: list[str], *, migrate: bool = True,
                 rpc_timeout: float = 30.0):
        self.settings = settings
        self.services = list(services)
        self.migrate = migrate
        self.rpc_timeout = rpc_timeout
        self.runner: SuiteRunner | None = None
        self._rpc: RpcClient | None = None

    def start(self) -> Suite:
        if self.migrate:
            self.migrate_databases()
        self.runner = SuiteRunner(self.settings, self.services)
        self.runner.preflight()
        self.runner.start()
        return self

    def migrate_databases(self) -> None:
        for name in self.services:
            cls = load_service(name)
            if has_database(cls):
                upgrade(cls, self.settings)

    def container(self, name: str):
        assert self.runner is not None, "the suite is not running"
        for container in self.runner.containers:
            if container.service_name == name:
                return container
        raise KeyError(name)

    @property
    def rpc(self) -> RpcClient:
        if self._rpc is None:
            self._rpc = RpcClient(self.settings, timeout=self.rpc_timeout)
        return self._rpc

    def client(self, timeout: float | None = None) -> RpcClient:
        """A new client (one per green thread, for concurrent callers)."""
        return RpcClient(self.settings, timeout=timeout or self.rpc_timeout)

    def stop(self) -> None:
        if self._rpc is not None:
            self._rpc.close()
            self._rpc = None
        if self.runner is not None:
            self.runner.stop()
            self.runner = None

    def kill(self) -> None:
        """Stop abruptly, as a crash would (no graceful flush of anything)."""
        if self._rpc is not None:
            self._rpc.close()
            self._rpc = None
        if self.runner is not None:
            for container in self.runner.containers:
                container.kill()
            self.runner.containers.clear()
            self.runner = None

    def __enter__(self) -> Suite:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05,
             message: str = "condition") -> object:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    import eventlet

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")
        eventlet.sleep(interval)


@contextmanager
def ad_hoc_service(settings: Settings, service_cls: type, metadata):
    """Run a test's own service class (e.g. a stand-in consumer of events) on a database holding its
    tables and the messaging tables; yields ``(container, engine)``."""
    from nameko.containers import get_container_cls

    from redprop.db.engine import build_engine
    from redprop.messaging.tables import MessagingBase

    engine = build_engine(settings.database_url(service_cls.name))
    metadata.create_all(engine)
    MessagingBase.metadata.create_all(engine)
    config = settings.nameko_config(service_cls.name)
    container = get_container_cls(config)(service_cls, config)
    container.start()
    try:
        yield container, engine
    finally:
        container.stop()
        engine.dispose()
