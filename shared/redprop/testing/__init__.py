"""Test support for redprop services, in the spirit of ``nameko.testing``.

  pytest_plugin.py  fixtures (loaded automatically once redprop-shared is installed): an isolated
                    RabbitMQ vhost per test, a fresh database per test on SQLite or PostgreSQL,
                    ``run_suite`` to start services in-process and call them
  suite.py          ``Suite``: migrate, start and call services (usable outside pytest too)
  databases.py      throwaway PostgreSQL databases
  servers.py        a private RabbitMQ node and PostgreSQL cluster, to stop and kill -9 in fault tests

Nothing is imported here: pytest loads the plugin before eventlet patches the process.
"""
