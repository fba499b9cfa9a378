"""Fixtures for the mediation tests (data and helpers are in mediation_helpers.py)."""

from __future__ import annotations

import pytest

from tests.mediation.mediation_helpers import start


@pytest.fixture
def suite(run_suite):
    """registry + mediation on SQLite, with the test district loaded."""
    return start(run_suite)


@pytest.fixture
def district_records() -> list[dict]:
    from tests.mediation.mediation_helpers import mediation_district

    return mediation_district()
