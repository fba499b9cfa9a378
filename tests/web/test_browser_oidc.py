"""The login page's identity-provider button in headless Chromium: the real suite and gateway, the fake provider
of tests/gateway/oidc_provider.py (tests/web/e2e.mjs, scenarios ``oidc`` and ``oidcdenied``)."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import start_gateway
from tests.gateway.oidc_provider import SECRET, SECRET_ENV, FakeProvider, gateway_options
from tests.web.conftest import _require_tools, browse

pytestmark = pytest.mark.integration


def test_the_button_logs_the_worker_in_and_a_cancelled_login_is_explained(run_suite, small_district, monkeypatch):
    _require_tools()
    monkeypatch.setenv(SECRET_ENV, SECRET)
    provider = FakeProvider()  # logs in W1, the grid worker
    try:
        gateway = start_gateway(run_suite, small_district, oidc=gateway_options(provider))
        gateway.submit()  # something in the inbox
        out = browse(gateway, "oidc")
        assert "ok: the worker lands on their inbox" in out
        provider.deny = True
        out = browse(gateway, "oidcdenied")
        assert "ok: a cancelled login is explained" in out
    finally:
        provider.server.shutdown()
