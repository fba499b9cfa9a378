"""Fixtures for the workbench's browser tests: the suite behind a gateway that serves the built app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from redprop.services.gateway.webapp import dist_dir
from redprop.testing.pytest_plugin import free_port
from tests.gateway.conftest import PASSWORD, Gateway, api_keys, gateway, people_records  # noqa: F401 - gateway: a fixture

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("REDPROP_CHROMIUM", "/usr/bin/chromium")
#: Screenshots of the main screens, for a reviewer to look at (kept after the run).
SHOTS = ROOT / "var" / "screenshots"


#: Who logs in with a password in the browser: role in e2e.mjs -> (username, registry person).
ACCOUNTS = {"resident": ("lisi", "P2"), "grid_worker": ("worker1", "W1"), "company": ("anju", "PCO1")}


def _require_tools() -> None:
    # Missing tools are a failure with the command that fixes it, never a skip.
    if not (dist_dir() / "index.html").is_file():
        pytest.fail(f"the workbench is not built in {dist_dir()}: run `make web`")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (scripts/ensure-browser.sh)")
    if shutil.which("node") is None:
        pytest.fail("node is missing: the browser tests run playwright-core on Node")


@pytest.fixture
def workbench(run_suite, small_district) -> Gateway:
    """As tests/gateway's, but ticketing waits for a worker to dispatch (auto_dispatch off), as a hub
    that looks at each request first does: the inbox then has something to dispatch."""
    _require_tools()
    port = free_port()
    options = {"http_host": "127.0.0.1", "http_port": port, "api_keys": api_keys()}
    suite = run_suite("registry", "ticketing", "gateway",
                      services={"gateway": {"options": options},
                                "ticketing": {"options": {"sweep_interval": 3600, "auto_dispatch": False}}})
    suite.rpc.registry.upsert(actor="P-DATA", records=[*small_district, *people_records()],
                              request_id=f"load-{uuid.uuid4().hex[:8]}")
    served = Gateway(base_url=f"http://127.0.0.1:{port}", suite=suite)
    for username, person in ACCOUNTS.values():
        served.add_account(username, person)
    return served


def browse(target: Gateway, *scenarios: str, **env: str) -> str:
    """Run scenarios of e2e.mjs against ``target``; their output, or a failure showing it."""
    # P3 logs in with an API key (the login page's other way in), everyone else with a password.
    keys = {"accounts": {role: {"username": username, "password": PASSWORD}
                         for role, (username, _) in ACCOUNTS.items()},
            "resident_other": "test-key-resident-P3"}
    environ = {**os.environ, "WORKBENCH_URL": target.base_url, "WORKBENCH_KEYS": json.dumps(keys),
               "SHOTS": str(SHOTS), "CHROMIUM": CHROMIUM, **env}
    done = subprocess.run(["node", str(ROOT / "tests" / "web" / "e2e.mjs"), *scenarios], env=environ,
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "e2e: done" in done.stdout, output
    return output


#: Issue 19's screens: the matching and mediation services too, a person who owns nothing (P4, "tenant"),
#: and the enterprises whose offers matching pairs with the community's needs.
SCREENS_ACCOUNTS = {**ACCOUNTS, "tenant": ("zhaoliu", "P4")}


@pytest.fixture
def screens_workbench(run_suite, small_district) -> Gateway:
    from tests.matching.conftest import ZONE_RECORDS

    _require_tools()
    port = free_port()
    options = {"http_host": "127.0.0.1", "http_port": port, "api_keys": api_keys()}
    suite = run_suite("registry", "ticketing", "matching", "mediation", "gateway",
                      services={"gateway": {"options": options},
                                "ticketing": {"options": {"sweep_interval": 3600, "auto_dispatch": False}}})
    tenant = [{"kind": "person", "id": "P4", "name": "赵六"}]
    suite.rpc.registry.upsert(actor="P-DATA", records=[*small_district, *people_records(), *ZONE_RECORDS, *tenant],
                              request_id=f"load-{uuid.uuid4().hex[:8]}")
    served = Gateway(base_url=f"http://127.0.0.1:{port}", suite=suite)
    for username, person in SCREENS_ACCOUNTS.values():
        served.add_account(username, person)
    return served


def browse_screens(target: Gateway, *scenarios: str, **env: str) -> str:
    """As ``browse``, with the tenant's account too."""
    keys = {"accounts": {role: {"username": username, "password": PASSWORD}
                         for role, (username, _) in SCREENS_ACCOUNTS.items()},
            "password": PASSWORD}  # of the accounts a test adds for itself (the owners who vote)
    environ = {**os.environ, "WORKBENCH_URL": target.base_url, "WORKBENCH_KEYS": json.dumps(keys),
               "SHOTS": str(SHOTS), "CHROMIUM": CHROMIUM, **env}
    done = subprocess.run(["node", str(ROOT / "tests" / "web" / "e2e.mjs"), *scenarios], env=environ,
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "e2e: done" in done.stdout, output
    return output
