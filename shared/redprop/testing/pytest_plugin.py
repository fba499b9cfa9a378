"""redprop's pytest plugin (registered under ``pytest11`` by redprop-shared).

- Monkey-patches the process for eventlet before tests are collected (nameko's workers are green).
- Makes pytest-timeout's ``signal`` method work under eventlet, so a test past its timeout fails alone
  instead of ending the whole run (``pytest_timeout_set_timer`` below).
- ``amqp_uri``: a fresh RabbitMQ virtual host per test, deleted afterwards, so no queue, binding or
  leftover message of one test can reach another.
- ``backend``: parametrises a test over SQLite and PostgreSQL; ``database_url_factory`` gives each
  service of a test its own empty database on the chosen backend.
- ``make_settings`` and ``run_suite``: settings pointing at those, and services started in-process.
- ``private_rabbit`` / ``private_amqp_uri`` and ``private_postgres``: a RabbitMQ node and a PostgreSQL
  cluster of the session's own (``testing/servers.py``), for fault tests that stop or kill -9 them.

Servers: ``REDPROP_TEST_AMQP_URI`` (default the local RabbitMQ, guest/guest) and
``REDPROP_TEST_POSTGRES_URL`` (default the local PostgreSQL as user postgres). ``REDPROP_TEST_RABBITMQ=4``
runs the messaging tests on a RabbitMQ 4 node of the session's own instead, from the copy that
``scripts/rabbitmq4.sh fetch`` unpacked in ``REDPROP_TEST_RABBITMQ4_DIR`` (``make rabbitmq4-test``); the
private nodes of the fault tests (``private_rabbit``, ``redprop.testing.cluster``) then run 4.x too.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from contextlib import ExitStack

import pytest

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/%2F"
TEST_DISTRICT = "990001"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
    # schemathesis's pytest plugin loads urllib3 before this hook, so urllib3 holds the unpatched SSLContext,
    # whose ``options`` setter then recurses under eventlet (botocore builds one for every client, even over
    # http): point urllib3 at the patched class, as a process that patches first (``redprop run``) has it.
    urllib3_ssl = sys.modules.get("urllib3.util.ssl_")
    if urllib3_ssl is not None:
        import ssl

        urllib3_ssl.SSLContext = ssl.SSLContext


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item, settings):
    """pytest-timeout's signal method, made to work under eventlet.

    Under eventlet's patched ``threading`` the main thread never looks like the main thread, so
    pytest-timeout falls back to its thread method, which ends the whole run with ``os._exit`` at the
    first test that outlives its timeout (one slow test on a busy CI machine, and nothing after it runs).
    Tests run in this process's one OS thread, so SIGALRM works. The handler runs in whichever green
    thread was running: in the test's own greenlet it raises there; in the hub (waiting on sockets, the
    usual case) it raises too, and the hub's greenlet ends with the failure, which greenlet hands to its
    parent, the test (eventlet starts a new hub greenlet with the same timers and sockets next time);
    in a service's worker, busy in Python, the failure is thrown into the test when the worker yields.
    """
    if settings.method != "signal":
        return None
    import signal

    import greenlet
    from eventlet.hubs import get_hub
    from pytest_timeout import timeout_sigalrm

    test_greenlet = greenlet.getcurrent()
    hub = get_hub()

    def on_alarm(signum, frame):
        __tracebackhide__ = True
        current = greenlet.getcurrent()
        if current is test_greenlet or (current is hub.greenlet and current.parent is test_greenlet):
            timeout_sigalrm(item, settings)  # dumps the stacks, raises pytest's Failed
        try:
            timeout_sigalrm(item, settings)
        except BaseException as failure:  # noqa: BLE001 - pytest's Failed: delivered to the test, not here
            hub.schedule_call_global(0, test_greenlet.throw, failure)

    def cancel():
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    try:
        signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main OS thread after all: leave it to pytest-timeout's own methods
        return None
    item.cancel_timeout = cancel
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def broker_uri(tmp_path_factory) -> str:
    if os.environ.get("REDPROP_TEST_RABBITMQ") != "4":
        yield os.environ.get("REDPROP_TEST_AMQP_URI", DEFAULT_AMQP_URI)
        return
    from redprop.messaging import management
    from redprop.testing.servers import PrivateRabbit

    # A RabbitMQ 4 node of the session's own; every management client of the tests that names no port
    # goes to its management API.
    with PrivateRabbit(tmp_path_factory.mktemp("rabbitmq4")) as node:
        saved, management.MANAGEMENT_PORT = management.MANAGEMENT_PORT, node.management_port
        try:
            yield node.amqp_uri
        finally:
            management.MANAGEMENT_PORT = saved


@pytest.fixture(scope="session")
def rabbit_management(broker_uri):
    from redprop.messaging.management import RabbitManagement

    return RabbitManagement(broker_uri)


@pytest.fixture
def vhost(rabbit_management) -> str:
    name = f"redprop_test_{uuid.uuid4().hex[:10]}"
    rabbit_management.create_vhost(name)
    yield name
    rabbit_management.delete_vhost(name)


@pytest.fixture
def amqp_uri(broker_uri, vhost) -> str:
    from redprop.config import Settings

    return Settings(amqp_uri=broker_uri).with_vhost(vhost).amqp_uri


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url_factory(tmp_path):
    """``make(service, backend)`` -> the URL of a new, empty database (dropped after the test)."""
    from redprop.testing.databases import DEFAULT_SERVER_URL, temporary_postgres_database

    server = os.environ.get("REDPROP_TEST_POSTGRES_URL", DEFAULT_SERVER_URL)
    with ExitStack() as stack:
        def make(service: str, backend: str = "sqlite") -> str:
            if backend == "sqlite":
                return f"sqlite:///{tmp_path / f'{service}-{uuid.uuid4().hex[:6]}.sqlite3'}"
            if backend == "postgresql":
                return stack.enter_context(temporary_postgres_database(server))
            raise ValueError(f"unknown backend {backend!r}")

        yield make


@pytest.fixture
def make_settings(amqp_uri, tmp_path, database_url_factory):
    """``make_settings(names, backend="sqlite", **overrides)`` -> Settings for one test.

    Each named service gets its own fresh database and a free metrics port; retries and outbox polls
    are quick so fault tests finish fast.
    """
    from redprop.config import Settings

    def make(names: list[str] | tuple[str, ...] = (), backend: str = "sqlite", **overrides):
        # ``services=`` in overrides adds to (or changes) the per-service settings made here.
        services_cfg = {
            name: {"database_url": database_url_factory(name, backend), "metrics_port": free_port(),
                   "max_workers": 4}
            for name in names
        }
        for name, extra in overrides.pop("services", {}).items():
            services_cfg.setdefault(name, {}).update(extra)
        messaging = {"retry_delay": 0.2, "outbox_poll_interval": 0.2, "max_delivery_attempts": 3,
                     "rpc_timeout": 20,
                     # REDPROP_TEST_QUEUE_TYPE=quorum runs a test on quorum queues (default: the setting's).
                     **({"queue_type": os.environ["REDPROP_TEST_QUEUE_TYPE"]}
                        if os.environ.get("REDPROP_TEST_QUEUE_TYPE") else {}),
                     **overrides.pop("messaging", {})}
        return Settings(district=TEST_DISTRICT, amqp_uri=amqp_uri, data_dir=tmp_path / "data",
                        services=services_cfg, messaging=messaging, **overrides)

    return make


@pytest.fixture
def run_suite(make_settings):
    """``run_suite(*services, backend="sqlite", settings=None, **overrides)`` -> a running Suite."""
    from redprop.testing.suite import Suite

    suites: list[Suite] = []

    def run(*services: str, backend: str = "sqlite", settings=None, **overrides) -> Suite:
        settings = settings or make_settings(services, backend, **overrides)
        suite = Suite(settings, list(services)).start()
        suites.append(suite)
        return suite

    yield run
    for suite in reversed(suites):
        suite.stop()


# -- servers a test owns (fault tests: stop, kill -9, start again) ------------------------------------


@pytest.fixture(scope="session")
def private_rabbit_node(tmp_path_factory):
    """A RabbitMQ node of the session's own, on free ports (``redprop.testing.servers.PrivateRabbit``)."""
    from redprop.testing.servers import PrivateRabbit

    with PrivateRabbit(tmp_path_factory.mktemp("rabbit")) as node:
        yield node


@pytest.fixture
def private_rabbit(private_rabbit_node):
    """The private node, running when the test starts (the test before may have stopped it)."""
    private_rabbit_node.ensure_running()
    return private_rabbit_node


@pytest.fixture
def private_amqp_uri(private_rabbit) -> str:
    """A fresh virtual host on the private node, deleted afterwards."""
    from redprop.config import Settings
    from redprop.messaging.management import RabbitManagement

    management = RabbitManagement(private_rabbit.amqp_uri, port=private_rabbit.management_port)
    name = f"redprop_fault_{uuid.uuid4().hex[:10]}"
    management.create_vhost(name)
    yield Settings(amqp_uri=private_rabbit.amqp_uri).with_vhost(name).amqp_uri
    private_rabbit.ensure_running()
    management.delete_vhost(name)


@pytest.fixture(scope="session")
def private_postgres_cluster():
    """A PostgreSQL cluster of the session's own, on a free port (``PrivatePostgres``)."""
    import shutil

    from redprop.testing.servers import PrivatePostgres

    base = PrivatePostgres.temporary_base()
    try:
        with PrivatePostgres(base) as cluster:
            yield cluster
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def private_postgres(private_postgres_cluster):
    """``make()`` -> the URL of a new database on the private cluster, running when the test starts."""
    from redprop.testing.databases import temporary_postgres_database

    private_postgres_cluster.ensure_running()
    with ExitStack() as stack:
        def make() -> str:
            return stack.enter_context(temporary_postgres_database(private_postgres_cluster.server_url))

        make.cluster = private_postgres_cluster
        yield make
        private_postgres_cluster.ensure_running()  # the databases are dropped on it next
