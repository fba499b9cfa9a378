"""Fixtures for the interoperability tests: the project-local Node.js folder, installed once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).parent / "node"
REPO = Path(__file__).resolve().parents[2]
ASYNCAPI_COPY = REPO / "docs" / "asyncapi.yaml"
NPM_CI_TIMEOUT = 300  # seconds; a cold install from the registry takes ~10 s


def _installed_matches_lock() -> bool:
    """npm keeps a copy of what it installed in node_modules/.package-lock.json: same packages, no work."""
    hidden = NODE_DIR / "node_modules" / ".package-lock.json"
    if not hidden.is_file():
        return False
    wanted = json.loads((NODE_DIR / "package-lock.json").read_text())["packages"]
    have = json.loads(hidden.read_text())["packages"]
    pick = lambda packages: {k: v.get("version") for k, v in packages.items() if k}  # noqa: E731
    return pick(wanted) == pick(have)


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, with the folder's packages installed (``npm ci``, once per checkout)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js 20+ and npm are needed for the interoperability tests"
    major = int(subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout[1:].split(".")[0])
    assert major >= 20, f"Node.js 20+ is needed, found {major}"
    if not _installed_matches_lock():
        # --ignore-scripts: nothing from the registry runs at install time.
        env = {**os.environ, "SCARF_ANALYTICS": "false"}
        done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=NODE_DIR, env=env,
                              capture_output=True, text=True, timeout=NPM_CI_TIMEOUT)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return node


def run_node(node: str, script: str, *args: str, env: dict | None = None, timeout: float = 90):
    return subprocess.run([node, script, *args], cwd=NODE_DIR, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
