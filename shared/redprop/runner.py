"""Start the installed services: ``redprop run NAME...`` or ``redprop run --all``.

Before any container starts, everything that can be checked is checked, so a misconfigured suite stops
at once with a message naming the problem: the services are installed, their configured plugins are
installed and fit their interfaces, their databases are migrated, and the broker answers.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass

import eventlet
from eventlet.event import Event as GreenEvent
from kombu import Connection
from nameko.containers import get_container_cls

from redprop.checks import require_valid
from redprop.config import Settings
from redprop.db.migrate import check_current, has_database
from redprop.errors import ConfigError
from redprop.plugins import installed_services, load_service

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


#: How long a stop waits for in-flight workers before killing them (their unacknowledged messages go
#: back to the queue). Well inside the chart's terminationGracePeriodSeconds (30 s by default).
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Ending:
    """Why :meth:`SuiteRunner.serve` returned: a signal, or a service that stopped by itself."""

    signal: str | None = None
    died: str | None = None

    @property
    def exit_code(self) -> int:
        # A supervisor restarts on failure: a service that stopped by itself is one.
        return 1 if self.died else 0


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
        self._ending = GreenEvent()
        self._stopping = False

    def preflight(self) -> None:
        # What `config --check` checks (plugins, options) for every service first, then what needs a connection.
        require_valid(self.settings, [cls.name for cls in self.service_classes])
        for cls in self.service_classes:
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
        if not self._stopping:
            self._end(Ending(died=name))

    def _end(self, ending: Ending) -> None:
        if not self._ending.ready():
            self._ending.send(ending)

    def serve(self) -> Ending:
        """Block until SIGTERM or SIGINT arrives or a service stops by itself, then stop everything once.

        A signal handler only records the request: the stop itself runs here, in one place, so it never
        races a second stop (two stops of one nameko container hang).
        """
        def on_signal(signum, _frame):
            eventlet.spawn_n(self._end, Ending(signal=signal.Signals(signum).name))

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            ending = self._ending.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if ending.died:
            log.error("service %s stopped by itself; stopping the others", ending.died)
        else:
            log.info("%s received; stopping", ending.signal)
        self.stop()
        return ending

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every container: no new messages are taken and in-flight workers may finish.

        Workers still running after ``timeout`` seconds (shared by all containers) are killed; their
        messages were never acknowledged, so the broker delivers them again to the next consumer.
        """
        if self._stopping:
            return
        self._stopping = True
        deadline = time.monotonic() + timeout
        for container in reversed(self.containers):
            remaining = max(deadline - time.monotonic(), 0.1)
            with eventlet.Timeout(remaining, False):
                container.stop()
                continue
            log.warning("%s did not stop within %.0f s; killing its workers (their messages are requeued)",
                        container.service_name, timeout)
            container.kill()
        self.containers.clear()
