"""Start the installed services: ``redprop run NAME...`` or ``redprop run --all``.

Before any container starts, everything that can be checked is checked, so a misconfigured suite stops
at once with a message naming the problem: the services are installed, their configured plugins are
installed and fit their interfaces, their databases are migrated, and the broker answers.
"""

from __future__ import annotations

import logging

import eventlet
from eventlet.event import Event as GreenEvent
from kombu import Connection
from nameko.containers import get_container_cls

from redprop.config import Settings
from redprop.db.migrate import check_current, has_database
from redprop.errors import ConfigError
from redprop.plugins import check_extension_points, installed_services, load_service

log = logging.getLogger(__name__)


def enabled_services(settings: Settings) -> list[str]:
    """Installed services not disabled in settings, in a stable order."""
    return [name for name in sorted(installed_services()) if settings.service(name).enabled]


def check_broker(settings: Settings) -> None:
    try:
        with Connection(settings.amqp_uri, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=2, interval_start=0.5)
    except Exception as exc:
        raise ConfigError(
            f"setting 'amqp_uri': cannot reach RabbitMQ at {settings.redacted_amqp_uri()} ({exc})"
        ) from None


class SuiteRunner:
    """Runs one nameko container per service, each with its own max_workers."""

    def __init__(self, settings: Settings, names: list[str]):
        unknown = [n for n in names if n not in installed_services()]
        if unknown:
            available = ", ".join(sorted(installed_services())) or "none"
            raise ConfigError(f"not installed: {', '.join(unknown)} (installed services: {available})")
        self.settings = settings
        self.service_classes = [load_service(n) for n in names]
        self.containers = []
        self._died = GreenEvent()

    def preflight(self) -> None:
        for cls in self.service_classes:
            check_extension_points(cls, self.settings)
            if has_database(cls):
                check_current(cls, self.settings)
        check_broker(self.settings)

    def start(self) -> None:
        for cls in self.service_classes:
            config = self.settings.nameko_config(cls.name)
            container = get_container_cls(config)(cls, config)
            self.containers.append(container)
            container.start()
            eventlet.spawn(container.wait).link(self._on_died, cls.name)
            log.info("started %s (max_workers=%d)", cls.name, container.max_workers)

    def _on_died(self, gt, name: str) -> None:
        try:
            gt.wait()
        except Exception:
            log.exception("service %s died", name)
        if not self._died.ready():
            self._died.send(name)

    def wait(self) -> str:
        """Block until a container dies; returns its name."""
        return self._died.wait()

    def stop(self) -> None:
        for container in reversed(self.containers):
            container.stop()
        self.containers.clear()
