"""Logging into the app with the identity provider: the authorisation-code flow with PKCE over HTTP, against a
fake provider written for the tests (``oidc_provider.py``: discovery, /authorize, /token, /jwks, with a key pair
it makes) and the
real gateway and registry."""

from __future__ import annotations

import base64
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.gateway.conftest import start_gateway
from tests.gateway.oidc_provider import CLIENT_ID, SECRET, SECRET_ENV, FakeProvider, gateway_options

pytestmark = pytest.mark.integration


@pytest.fixture
def provider():
    fake = FakeProvider()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def gateway(run_suite, small_district, provider, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return start_gateway(run_suite, small_district, oidc=gateway_options(provider, display_name="黄浦区统一身份认证"))


def start(gateway, browser: requests.Session) -> requests.Response:
    """The app's button: the gateway's login, which redirects to the provider."""
    response = browser.get(gateway.base_url + "/api/v1/session/oidc/login", allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text
    return response


def through_provider(login: requests.Response, browser: requests.Session) -> requests.Response:
    """The provider's page: it sends the browser back to the gateway's callback (answered here, not followed)."""
    at_provider = browser.get(login.headers["Location"], allow_redirects=False, timeout=30)
    assert at_provider.status_code == 302
    return at_provider


def callback(gateway, at_provider: requests.Response, browser: requests.Session, timeout=30) -> requests.Response:
    back = at_provider.headers["Location"]
    assert back.startswith(gateway.base_url + "/api/v1/session/oidc/callback?")
    return browser.get(back, allow_redirects=False, timeout=timeout)


def login_error(response: requests.Response) -> str | None:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    return location.split("error=", 1)[1] if "error=" in location else None


def test_the_app_learns_whether_to_show_the_button(gateway, run_suite, small_district):
    methods = gateway.call("GET", "/api/v1/session/methods").json()
    assert methods == {"password": True, "oidc": {"display_name": "黄浦区统一身份认证",
                                                  "login_url": "/api/v1/session/oidc/login"}}


def test_without_a_client_id_there_is_no_button_and_the_routes_are_404(run_suite, small_district):
    plain = start_gateway(run_suite, small_district)
    assert plain.call("GET", "/api/v1/session/methods").json() == {"password": True, "oidc": None}
    for path in ("/api/v1/session/oidc/login", "/api/v1/session/oidc/callback?code=x&state=y"):
        response = plain.call("GET", path, allow_redirects=False)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_whole_flow_logs_the_person_in_with_a_session_cookie(gateway, provider, caplog):
    caplog.set_level(logging.DEBUG)
    browser = requests.Session()
    login = start(gateway, browser)
    asked = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["Location"]).query).items()}
    assert login.headers["Location"].startswith(provider.issuer + "/authorize?")  # discovered
    assert asked["client_id"] == CLIENT_ID and asked["response_type"] == "code" and asked["scope"] == "openid"
    assert asked["code_challenge_method"] == "S256" and len(asked["state"]) >= 32 and asked["nonce"]
    assert asked["redirect_uri"] == gateway.base_url + "/api/v1/session/oidc/callback"
    assert "code_verifier" not in login.headers["Location"]

    done = callback(gateway, through_provider(login, browser), browser)
    assert done.status_code == 302 and done.headers["Location"] == "/app/", done.text
    assert "redprop_session" in done.cookies
    # The verifier went to the token endpoint, with the secret (checked by the provider).
    assert len(provider.token_calls) == 1 and len(provider.token_calls[0]["code_verifier"]) >= 43

    session = browser.get(gateway.base_url + "/api/v1/session", timeout=30)
    assert session.status_code == 200, session.text
    assert session.json()["person_id"] == "W1" and session.json()["role"] == "grid_worker"
    me = browser.get(gateway.base_url + "/api/v1/me", timeout=30).json()
    assert me["via"] == "session" and me["subject"] == "W1"
    # Logout ends it as it ends a password session.
    assert browser.delete(gateway.base_url + "/api/v1/session", headers={"X-Requested-With": "redprop"},
                          timeout=30).status_code == 204
    assert browser.get(gateway.base_url + "/api/v1/session", timeout=30).status_code == 401

    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert SECRET not in logged
    assert base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode() not in logged


def test_a_state_works_once(gateway, provider):
    browser = requests.Session()
    at_provider = through_provider(start(gateway, browser), browser)
    first = callback(gateway, at_provider, browser)
    assert first.headers["Location"] == "/app/"
    again = requests.Session()
    again.cookies.set("redprop_oidc_state", parse_qs(urlsplit(at_provider.headers["Location"]).query)["state"][0])
    replay = callback(gateway, at_provider, again)
    assert login_error(replay) == "state" and "redprop_session" not in replay.cookies


def test_a_callback_from_another_browser_is_refused(gateway, provider):
    """Login CSRF: a callback URL (the attacker's code and state) opened in a victim's browser makes no session."""
    attacker = requests.Session()
    at_provider = through_provider(start(gateway, attacker), attacker)
    victim = requests.Session()
    response = callback(gateway, at_provider, victim)
    assert login_error(response) == "state" and "redprop_session" not in response.cookies
    assert provider.token_calls == []  # refused before the code was spent


def test_a_made_up_state_is_refused(gateway):
    browser = requests.Session()
    browser.cookies.set("redprop_oidc_state", "made-up")
    response = browser.get(gateway.base_url + "/api/v1/session/oidc/callback?code=abc&state=made-up",
                           allow_redirects=False, timeout=30)
    assert login_error(response) == "state"


def test_an_expired_login_is_refused(gateway, provider):
    from sqlalchemy import update

    from redprop.services.gateway.models import oidc_logins

    browser = requests.Session()
    at_provider = through_provider(start(gateway, browser), browser)
    with gateway.database() as db:
        db.execute(update(oidc_logins).values(expires_at=oidc_logins.c.created_at))
    response = callback(gateway, at_provider, browser)
    assert login_error(response) == "expired" and "redprop_session" not in response.cookies


def test_a_wrong_nonce_is_refused(gateway, provider):
    provider.nonce = "another-login"
    browser = requests.Session()
    response = callback(gateway, through_provider(start(gateway, browser), browser), browser)
    assert login_error(response) == "id_token" and "redprop_session" not in response.cookies


def test_a_person_the_registry_does_not_know_is_refused(gateway, provider):
    provider.person = "NOBODY"
    browser = requests.Session()
    response = callback(gateway, through_provider(start(gateway, browser), browser), browser)
    assert login_error(response) == "unknown_person" and "redprop_session" not in response.cookies


def test_disabling_the_persons_account_stops_their_provider_logins_and_ends_their_provider_sessions(
        gateway, provider):
    """An operator who disables a person's account (``redprop gateway accounts disable``) shuts them out of
    the provider's login too, which needs no account, and ends the provider sessions they have."""
    from redprop.services.gateway import accounts

    browser = requests.Session()
    assert login_error(callback(gateway, through_provider(start(gateway, browser), browser), browser)) is None
    assert browser.get(gateway.base_url + "/api/v1/session", timeout=30).status_code == 200  # W1, logged in

    gateway.add_account("wang.w1", "W1")  # the same person's password account, then disabled
    with gateway.database() as db:
        accounts.set_disabled(db, gateway.suite.settings.district, "wang.w1")
    assert browser.get(gateway.base_url + "/api/v1/session", timeout=30).status_code == 401  # ended
    again = requests.Session()
    response = callback(gateway, through_provider(start(gateway, again), again), again)
    assert login_error(response) == "disabled" and "redprop_session" not in response.cookies

    # Enabled again, the provider's login works as before; another person was never affected.
    with gateway.database() as db:
        accounts.set_disabled(db, gateway.suite.settings.district, "wang.w1", disabled=False)
    third = requests.Session()
    assert login_error(callback(gateway, through_provider(start(gateway, third), third), third)) is None
    assert third.get(gateway.base_url + "/api/v1/session", timeout=30).json()["person_id"] == "W1"


def test_the_person_cancelling_at_the_provider_is_shown(gateway, provider):
    provider.deny = True
    browser = requests.Session()
    response = callback(gateway, through_provider(start(gateway, browser), browser), browser)
    assert login_error(response) == "denied" and "redprop_session" not in response.cookies


def test_the_token_endpoint_refusing_the_code(gateway, provider):
    browser = requests.Session()
    at_provider = through_provider(start(gateway, browser), browser)
    provider.codes.clear()  # the code expired at the provider
    response = callback(gateway, at_provider, browser)
    assert login_error(response) == "token" and "redprop_session" not in response.cookies


def test_a_wrong_client_secret_is_refused_at_the_token_endpoint(run_suite, small_district, provider, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "not-the-secret")
    gateway = start_gateway(run_suite, small_district, oidc=gateway_options(provider))
    browser = requests.Session()
    response = callback(gateway, through_provider(start(gateway, browser), browser), browser)
    assert login_error(response) == "token"


def test_the_secret_may_come_from_a_file_and_a_missing_one_stops_the_gateway(provider, tmp_path, monkeypatch):
    from redprop.errors import ConfigError
    from redprop.services.gateway.oidc_login import client_secret
    from redprop.services.gateway.options import OidcOptions

    base = {"issuer": provider.issuer, "jwks_url": provider.issuer + "/jwks", "client_id": CLIENT_ID,
            "client_secret_env": SECRET_ENV}
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ConfigError, match=SECRET_ENV):
        client_secret(OidcOptions(**base))
    (tmp_path / "secret").write_text(SECRET + "\n")
    assert client_secret(OidcOptions(**base, client_secret_file=str(tmp_path / "secret"))) == SECRET
    with pytest.raises(ConfigError, match="client_secret_file"):
        client_secret(OidcOptions(**base, client_secret_file=str(tmp_path / "absent")))
    # The secret is not a setting at all.
    with pytest.raises(ValueError, match="client_secret"):
        OidcOptions(**base, client_secret=SECRET)


def test_odd_callbacks_answer_redirects_or_4xx_never_5xx(gateway):
    browser = requests.Session()
    for query in ("", "?code=", "?state=", "?error=server_error&state=x", "?code=x&state=" + "s" * 300,
                  "?code=%00&state=%ff"):
        response = browser.get(gateway.base_url + "/api/v1/session/oidc/callback" + query,
                               allow_redirects=False, timeout=30)
        assert response.status_code in (302, 422), (query, response.status_code, response.text)
        assert "redprop_session" not in response.cookies


def test_on_postgresql_two_racing_callbacks_with_one_state_make_one_session(run_suite, small_district, provider,
                                                                             monkeypatch):
    """The row is taken by whoever deletes it: a replayed callback racing the real one is refused as used."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv(SECRET_ENV, SECRET)
    gateway = start_gateway(run_suite, small_district, backend="postgresql", oidc=gateway_options(provider))
    browser = requests.Session()
    at_provider = through_provider(start(gateway, browser), browser)
    state = browser.cookies.get("redprop_oidc_state")
    clients = []
    for _ in range(2):
        client = requests.Session()
        client.cookies.set("redprop_oidc_state", state)
        clients.append(client)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: callback(gateway, at_provider, c), clients))
    outcomes = sorted(r.headers["Location"] for r in answers)
    assert outcomes == ["/app/", "/app/login?error=state"], outcomes
    (won,) = [r for r in answers if r.headers["Location"] == "/app/"]
    assert "redprop_session" in won.cookies and len(provider.token_calls) == 1


def test_the_registry_away_is_a_login_error_not_a_5xx(gateway, provider):
    browser = requests.Session()
    at_provider = through_provider(start(gateway, browser), browser)
    gateway.suite.container("registry").stop()
    response = callback(gateway, at_provider, browser, timeout=120)  # the gateway's RPC to it times out first
    assert login_error(response) == "unavailable" and "redprop_session" not in response.cookies


@pytest.mark.timeout(600)
def test_the_login_routes_fuzzed_with_oidc_configured_never_answer_5xx(gateway):
    """The suite's fuzzer runs without OIDC (the routes are 404 there): here schemathesis calls the three routes
    with it configured, every built-in check on (documented statuses, headers and bodies)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.generation.modes import GenerationMode

    schema = schemathesis.openapi.from_dict(gateway.call("GET", "/openapi.json").json())
    statuses: dict[int, int] = {}
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith("/api/v1/session/")]
    assert sorted(o.path for o in operations) == ["/api/v1/session/methods", "/api/v1/session/oidc/callback",
                                                  "/api/v1/session/oidc/login"]
    for operation in operations:
        @given(case=operation.as_strategy(GenerationMode.POSITIVE))  # noqa: B023 - run before the loop moves
        @settings(max_examples=40, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            try:
                response = case.call_and_validate(base_url=gateway.base_url, timeout=30, allow_redirects=False)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - schemathesis' failures: gather all
                failures.append(f"{case.operation.label}: {str(exc)[:500]}")
                return
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500 and "redprop_session" not in response.headers.get("Set-Cookie", "")

        check()
    assert failures == [], "\n\n".join(failures[:10])
    assert statuses.get(302, 0) > 0 and statuses.get(200, 0) > 0, statuses
