"""The gateway serves the built workbench under /app/, and the reads it added (workbench.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def dist(tmp_path, monkeypatch):
    """A stand-in build (REDPROP_WEB_DIST), so these tests do not depend on `make web`."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>工作台</title>", encoding="utf-8")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("not for you")
    monkeypatch.setenv("REDPROP_WEB_DIST", str(tmp_path))
    return tmp_path


def test_the_shell_and_its_bundles_with_their_cache_headers(gateway, dist):
    index = gateway.call("GET", "/app/")
    assert index.status_code == 200 and "工作台" in index.text
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert index.headers["Cache-Control"] == "no-cache"
    assert "default-src 'self'" in index.headers["Content-Security-Policy"]
    bundle = gateway.call("GET", "/app/assets/index-abc123.js")
    assert bundle.status_code == 200 and bundle.headers["Content-Type"].startswith("text/javascript")
    assert bundle.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    bare = gateway.call("GET", "/app", allow_redirects=False)
    assert bare.status_code == 308 and bare.headers["Location"] == "/app/"


def test_a_screens_path_answers_the_shell_a_missing_bundle_does_not(gateway, dist):
    for path in ("/app/inbox", "/app/tickets/T-1", "/app/m/tickets/T-1"):
        deep = gateway.call("GET", path)
        assert deep.status_code == 200 and "工作台" in deep.text, path
    missing = gateway.call("GET", "/app/assets/gone-000.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "route_not_found"


def test_nothing_outside_the_build_is_served(gateway, dist):
    for path in ("/app/../secret.txt", "/app/%2e%2e/secret.txt", "/app/assets/%2e%2e/%2e%2e/secret.txt"):
        response = gateway.call("GET", path)
        assert "not for you" not in response.text, path


def test_an_unbuilt_workbench_says_how_to_build_it(gateway, tmp_path, monkeypatch):
    monkeypatch.setenv("REDPROP_WEB_DIST", str(tmp_path / "none"))
    response = gateway.call("GET", "/app/")
    assert response.status_code == 503 and "make web" in response.json()["error"]["message"]


def test_places_to_pick_from(gateway):
    buildings = gateway.call("GET", "/api/v1/places?kind=building&within=X2", "resident")
    assert buildings.status_code == 200, buildings.text
    assert [b["id"] for b in buildings.json()["items"]] == ["B2"]
    bad = gateway.call("GET", "/api/v1/places?kind=household", "resident")
    assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"] == "kind"
    assert gateway.call("GET", "/api/v1/places?kind=grid").status_code == 401


def test_the_monthly_summary_is_for_workers(gateway):
    gateway.submit()
    from redprop.clock import utcnow
    month = utcnow().strftime("%Y-%m")
    summary = gateway.call("GET", f"/api/v1/monthly-summary?complex_id=X1&month={month}", "grid_worker")
    assert summary.status_code == 200, summary.text
    assert summary.json()["received"] == 1
    for month_ in ("2026-13", "0000-01", "1999-12", "2100-01"):  # year 0 once crashed ticketing's summary
        bad = gateway.call("GET", f"/api/v1/monthly-summary?complex_id=X1&month={month_}", "grid_worker")
        assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"] == "month", month_
    assert gateway.call("GET", "/api/v1/monthly-summary?complex_id=X1&month=2099-12", "grid_worker").status_code == 200
    refused = gateway.call("GET", f"/api/v1/monthly-summary?complex_id=X1&month={month}", "resident")
    assert refused.status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/star-ratings", "/api/v1/ticket-stats"])
@pytest.mark.parametrize("role", ["resident", "property_company", "department"])
def test_the_workers_lists_are_refused_to_others(gateway, path, role):
    response = gateway.call("GET", path, role)
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_the_three_rates_for_a_worker(gateway):
    gateway.submit()
    stats = gateway.call("GET", "/api/v1/ticket-stats?group_by=complex", "grid_worker")
    assert stats.status_code == 200, stats.text
    assert stats.json()["total"]["tickets"] == 1
