"""Stopping: SIGTERM ends ``redprop run`` cleanly within a bounded time, and a service that stops by
itself makes the whole run fail, so a supervisor (Kubernetes, systemd, compose) restarts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import eventlet
import pytest
import requests

from redprop.runner import STOP_TIMEOUT, SuiteRunner
from redprop.testing.pytest_plugin import free_port
from redprop.testing.suite import Suite
from tests.shared.test_cli import settings_file

pytestmark = pytest.mark.integration

REDPROP = Path(sys.executable).with_name("redprop")
ALL = ("registry", "ticketing", "mediation", "evaluation", "matching", "gateway")


def _start(names, settings, tmp_path) -> subprocess.Popen:
    config = settings_file(settings, tmp_path / "redprop.yaml")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("REDPROP_")}
    env["REDPROP_CONFIG"] = str(config)
    return subprocess.Popen([str(REDPROP), "run", *names], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_ready(proc, settings, names, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    pending = {name: settings.metrics_port(name) for name in names}
    while pending and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        for name, port in list(pending.items()):
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    del pending[name]
            except requests.RequestException:
                pass
        time.sleep(0.2)
    assert not pending, f"not ready: {sorted(pending)}"


@pytest.mark.parametrize("names", [("registry",), ALL], ids=["one service", "every service"])
def test_sigterm_stops_the_run_cleanly_within_the_bound(names, make_settings, tmp_path):
    gateway = {"gateway": {"options": {"http_host": "127.0.0.1", "http_port": free_port()}}}
    settings = make_settings(list(names), services=gateway if "gateway" in names else {})
    Suite(settings, list(names)).migrate_databases()
    proc = _start(names, settings, tmp_path)
    try:
        _wait_ready(proc, settings, names)
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=STOP_TIMEOUT + 20)
        took = time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "stopped on SIGTERM" in output
    # Within our own bound (workers get STOP_TIMEOUT), well inside the chart's 30 s grace period.
    assert took < STOP_TIMEOUT + 5, f"SIGTERM took {took:.1f} s"
    assert "Traceback" not in output


def test_a_service_that_dies_ends_serve_with_a_failure(make_settings):
    settings = make_settings(["registry"])
    Suite(settings, ["registry"]).migrate_databases()
    runner = SuiteRunner(settings, ["registry"])
    runner.start()
    try:
        container = runner.containers[0]
        # A crash as nameko sees one: an extension fails and kills its container.
        eventlet.spawn_after(0.2, container.kill, (RuntimeError, RuntimeError("boom"), None))
        with eventlet.Timeout(30):
            ending = runner.serve()
    finally:
        runner.stop()
    assert ending.died == "registry"
    assert ending.exit_code == 1
    assert runner.containers == []


def test_stop_does_not_wait_past_its_bound_for_a_stuck_worker(make_settings):
    """A worker stuck past the bound is killed so the process can exit (its message is requeued)."""
    settings = make_settings(["registry"])
    Suite(settings, ["registry"]).migrate_databases()
    runner = SuiteRunner(settings, ["registry"])
    runner.start()
    container = runner.containers[0]
    # A worker that would hold a graceful stop for a minute (nameko waits for its worker pool).
    container._worker_pool.spawn(eventlet.sleep, 60)
    began = time.monotonic()
    runner.stop(timeout=1.0)
    assert time.monotonic() - began < 5
    assert runner.containers == []
