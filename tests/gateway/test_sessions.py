"""People's logins: accounts of registry people, the session cookie, its expiry, logout, CSRF and the
rate limit on failed logins (real broker, registry and the gateway's own database)."""

from __future__ import annotations

import time

import pytest
import requests

from redprop.services.gateway import accounts, passwords
from redprop.services.gateway.models import accounts as accounts_table
from redprop.services.gateway.models import sessions as sessions_table
from tests.gateway.conftest import PASSWORD, start_gateway

pytestmark = pytest.mark.integration
CSRF = {"X-Requested-With": "redprop"}


@pytest.fixture
def gateway(run_suite, small_district):
    gateway = start_gateway(run_suite, small_district, sessions={"max_age": 3600, "idle_timeout": 60},
                            login_limits={"per_username": 3, "per_address": 8, "window": 60})
    gateway.add_account("li.si", "P2")
    gateway.add_account("shequ.a1", "A1")
    gateway.add_account("wuye.pco1", "PCO1")
    return gateway


def test_a_password_is_stored_as_a_scrypt_hash_and_verifies():
    stored = passwords.hash_password("a long password")
    assert stored.startswith("scrypt$") and "a long password" not in stored
    assert passwords.verify_password("a long password", stored)
    assert not passwords.verify_password("a long passworD", stored)
    assert not passwords.verify_password("x", "not-a-hash")


def test_login_answers_the_person_and_their_roles_and_sets_a_strict_httponly_cookie(gateway):
    client = requests.Session()
    response = gateway.login("SHEQU.A1", client=client)  # usernames are not case-sensitive
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["person_id"] == "A1" and body["name"] == "测试A1" and body["roles"] == ["community_worker"]
    assert body["role"] == "community_admin" and body["posts"][0]["scope_id"] == "C1"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("redprop_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # http://127.0.0.1: no public https URL configured

    # The cookie identifies the person on every request; the token is stored only as its hash.
    me = client.get(gateway.base_url + "/api/v1/session", timeout=30)
    assert me.status_code == 200 and me.json()["person_id"] == "A1"
    token = client.cookies["redprop_session"]
    with gateway.database() as db:
        stored = [row.token_sha256 for row in db.execute(sessions_table.select())]
    assert token not in stored and len(stored) == 1
    assert client.get(gateway.base_url + "/api/v1/tickets", timeout=30).status_code == 200

    # A company's staff acts for the company: it sees only what the company holds.
    company = gateway.login("wuye.pco1").json()
    assert company["role"] == "property_company" and company["subject"] == "CO1"


def test_a_resident_logged_in_submits_and_reads_their_own_ticket(gateway):
    client = requests.Session()
    assert gateway.login("li.si", client=client).status_code == 200
    body = {"category": "leak", "building_id": "B1", "description": "楼道顶棚漏水"}
    # Without the CSRF header a cookie changes nothing: 403 naming the header.
    refused = client.post(gateway.base_url + "/api/v1/tickets", json=body, timeout=30)
    assert refused.status_code == 403 and refused.json()["error"]["details"]["header"] == "X-Requested-With"
    created = client.post(gateway.base_url + "/api/v1/tickets", json=body, headers=CSRF, timeout=30)
    assert created.status_code == 201, created.text
    ticket = created.json()["ticket"]
    assert ticket["resident_id"] == "P2"
    assert client.get(gateway.base_url + f"/api/v1/tickets/{ticket['id']}", timeout=30).status_code == 200


def test_a_wrong_password_an_unknown_user_and_a_disabled_account_are_all_401(gateway):
    for username, password in (("li.si", "wrong password!"), ("nobody", PASSWORD)):
        response = gateway.login(username, password)
        assert response.status_code == 401 and response.json()["error"]["message"] == "wrong username or password"
        assert "Set-Cookie" not in response.headers
    client = requests.Session()
    assert gateway.login("shequ.a1", client=client).status_code == 200
    with gateway.database() as db:
        accounts.set_disabled(db, gateway.suite.settings.district, "shequ.a1")
    # Disabling ends the sessions at once (the next request), and no new login works.
    assert client.get(gateway.base_url + "/api/v1/session", timeout=30).status_code == 401
    assert gateway.login("shequ.a1").status_code == 401


def test_login_needs_the_csrf_header_and_a_well_formed_body(gateway):
    response = requests.post(gateway.base_url + "/api/v1/session", json={"username": "li.si", "password": PASSWORD},
                             timeout=30)
    assert response.status_code == 403
    response = requests.post(gateway.base_url + "/api/v1/session", json={"username": "li.si"}, headers=CSRF,
                             timeout=30)
    assert response.status_code == 422 and response.json()["error"]["details"]["fields"][0]["field"] == "password"


def test_failed_logins_are_limited_per_username_and_per_address(gateway):
    for _ in range(3):
        assert gateway.login("li.si", "wrong password!").status_code == 401
    limited = gateway.login("li.si")  # even the right password: the limit comes first
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["error"]["details"]["limit"] == "username"
    # Other usernames from the same address: limited once the address has failed 8 times in all.
    for n in range(5):
        assert gateway.login(f"guess{n}", "wrong password!").status_code == 401
    by_address = gateway.login("shequ.a1")
    assert by_address.status_code == 429 and by_address.json()["error"]["details"]["limit"] == "address"


def test_logout_ends_the_session_and_clears_the_cookie(gateway):
    client = requests.Session()
    assert gateway.login("li.si", client=client).status_code == 200
    token = client.cookies["redprop_session"]
    assert client.delete(gateway.base_url + "/api/v1/session", timeout=30).status_code == 403  # CSRF header
    response = client.delete(gateway.base_url + "/api/v1/session", headers=CSRF, timeout=30)
    assert response.status_code == 204 and "redprop_session=;" in response.headers["Set-Cookie"]
    # The old token is dead on the server, not just forgotten by the browser.
    replay = requests.get(gateway.base_url + "/api/v1/session", cookies={"redprop_session": token}, timeout=30)
    assert replay.status_code == 401
    assert requests.get(gateway.base_url + "/api/v1/session", timeout=30).status_code == 401


def test_a_session_ends_at_its_expiry_and_after_its_idle_timeout(gateway):
    from datetime import timedelta

    from sqlalchemy import update

    from redprop.clock import utcnow

    first, second = requests.Session(), requests.Session()
    assert gateway.login("li.si", client=first).status_code == 200
    assert gateway.login("shequ.a1", client=second).status_code == 200
    with gateway.database() as db:
        # One session past its absolute expiry, the other idle longer than idle_timeout (60 s).
        db.execute(update(sessions_table).where(sessions_table.c.username == "li.si")
                   .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.execute(update(sessions_table).where(sessions_table.c.username == "shequ.a1")
                   .values(last_seen_at=utcnow() - timedelta(seconds=61)))
    for client in (first, second):
        response = client.get(gateway.base_url + "/api/v1/session", timeout=30)
        assert response.status_code == 401 and response.json()["error"]["details"]["cookie"] == "redprop_session"
    with gateway.database() as db:
        assert db.execute(sessions_table.select()).first() is None  # dead sessions are removed


def test_an_account_needs_a_known_username_shape_and_a_long_password(gateway):
    from redprop.errors import Conflict, ValidationFailed

    district = gateway.suite.settings.district
    with gateway.database() as db:
        with pytest.raises(ValidationFailed):
            accounts.add(db, district, "x", "P3", PASSWORD)
        with pytest.raises(ValidationFailed):
            accounts.add(db, district, "wang.wu", "P3", "short")
        with pytest.raises(Conflict):
            accounts.add(db, district, "LI.SI", "P3", PASSWORD)
        assert db.execute(accounts_table.select().where(accounts_table.c.username == "wang.wu")).first() is None


def test_an_account_whose_person_left_the_registry_cannot_log_in(gateway):
    gateway.add_account("ghost", "NOT-A-PERSON")
    started = time.monotonic()
    assert gateway.login("ghost").status_code == 401
    assert time.monotonic() - started < 20


def test_sessions_and_stored_keys_on_postgresql(run_suite, small_district):
    from datetime import timedelta

    from sqlalchemy import update

    from redprop.clock import utcnow
    from redprop.services.gateway import keys

    gateway = start_gateway(run_suite, small_district, backend="postgresql", auth_cache_ttl=0)
    assert gateway.suite.settings.database_url("gateway").startswith("postgresql")
    gateway.add_account("li.si", "P2")
    client = requests.Session()
    assert gateway.login("li.si", client=client).status_code == 200
    assert client.get(gateway.base_url + "/api/v1/session", timeout=30).json()["person_id"] == "P2"
    with gateway.database() as db:
        db.execute(update(sessions_table).values(last_seen_at=utcnow() - timedelta(hours=1)))
        key, _ = keys.add(db, gateway.suite.settings.district, "pg-key", "resident", "P2", "P2", 1)
    assert client.get(gateway.base_url + "/api/v1/session", timeout=30).status_code == 401
    assert gateway.call("GET", "/api/v1/me", key=key).status_code == 200
    with gateway.database() as db:
        keys.revoke(db, gateway.suite.settings.district, "pg-key")
    assert gateway.call("GET", "/api/v1/me", key=key).status_code == 401
