"""Fixtures for the chart tests; the helpers live in chartlib.py (imported by the test modules)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tests.chart.chartlib import EXAMPLES  # noqa: E402


@pytest.fixture(params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example(request) -> Path:
    """Each example values file of charts/redprop/examples."""
    return request.param
