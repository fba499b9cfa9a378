"""API keys in the gateway's database: hashed, with expiry, rotation and revocation that a running gateway
sees without a restart; configured keys keep working (real broker, registry and database)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from redprop.clock import utcnow
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.gateway import keys
from redprop.services.gateway.models import api_keys
from tests.gateway.conftest import key_of, start_gateway

pytestmark = pytest.mark.integration
CACHE_TTL = 1.0


@pytest.fixture
def gateway(run_suite, small_district):
    return start_gateway(run_suite, small_district, auth_cache_ttl=CACHE_TTL)


def add_key(gateway, name, role, subject, person=None, days=30.0):
    with gateway.database() as db:
        return keys.add(db, gateway.suite.settings.district, name, role, subject, person, days)


def status(gateway, key, path="/api/v1/me"):
    return gateway.call("GET", path, key=key).status_code


def test_a_stored_key_works_at_once_and_is_stored_only_as_its_hash(gateway):
    key, stored = add_key(gateway, "co1-console", "property_company", "CO1", person="PCO1")
    response = gateway.call("GET", "/api/v1/me", key=key)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "property_company" and response.json()["subject"] == "CO1"
    assert response.json()["actor"] == {"kind": "handler", "id": "CO1", "handler_kind": "property_company",
                                        "person_id": "PCO1"}
    with gateway.database() as db:
        rows = db.execute(api_keys.select()).all()
    assert [r.sha256 for r in rows] == [keys.hash_key(key)] and key not in str(rows)
    # The configured keys (the seed) work alongside.
    assert status(gateway, key_of("operator")) == 200


def test_an_expired_key_is_refused_saying_so(gateway):
    key, _ = add_key(gateway, "resident-app", "resident", "P2", person="P2")
    assert status(gateway, key) == 200
    with gateway.database() as db:
        db.execute(update(api_keys).values(expires_at=utcnow() - timedelta(seconds=1)))
    time.sleep(CACHE_TTL + 0.2)
    response = gateway.call("GET", "/api/v1/me", key=key)
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


def test_revocation_takes_effect_at_run_time(gateway):
    key, _ = add_key(gateway, "w1-tablet", "grid_worker", "W1", person="W1")
    assert status(gateway, key, "/api/v1/tickets") == 200
    with gateway.database() as db:
        assert keys.revoke(db, gateway.suite.settings.district, "w1-tablet") == 1
    deadline = time.monotonic() + CACHE_TTL + 3
    while status(gateway, key, "/api/v1/tickets") == 200:  # within the cache time, no restart
        assert time.monotonic() < deadline, "a revoked key still works after auth_cache_ttl"
        time.sleep(0.2)
    response = gateway.call("GET", "/api/v1/tickets", key=key)
    assert response.status_code == 401 and "revoked" in response.json()["error"]["message"]


def test_rotation_gives_a_new_key_and_ends_the_old_one_after_its_grace(gateway):
    district = gateway.suite.settings.district
    old, _ = add_key(gateway, "op-console", "operator", "OP1", person="OP1")
    with gateway.database() as db:
        new, stored = keys.rotate(db, district, "op-console", days=10, grace_hours=1)
    assert new != old and stored.role == "operator" and stored.subject == "OP1"
    assert status(gateway, new) == 200 and status(gateway, old) == 200  # both during the grace period
    with gateway.database() as db:
        newer, _ = keys.rotate(db, district, "op-console", days=10, grace_hours=0)  # 0: the others stop now
        states = {k.sha256: k.state(utcnow()) for k in keys.listing(db, district)}
    time.sleep(CACHE_TTL + 0.2)
    assert status(gateway, newer) == 200 and status(gateway, new) == 401 and status(gateway, old) == 401
    assert sorted(states.values()) == ["active", "revoked", "revoked"]


def test_bad_keys_and_bad_commands(gateway):
    district = gateway.suite.settings.district
    assert status(gateway, "rpk_not-a-key") == 401
    add_key(gateway, "dup", "resident", "P3", person="P3")
    with gateway.database() as db:
        with pytest.raises(Conflict):
            keys.add(db, district, "dup", "resident", "P3", "P3", 30)
        with pytest.raises(ValidationFailed):
            keys.add(db, district, "bad-role", "mayor", "P3", "P3", 30)
        with pytest.raises(ValidationFailed):
            keys.add(db, district, "bad-days", "resident", "P3", "P3", 0)
        with pytest.raises(NotFound):
            keys.revoke(db, district, "nothing")
        with pytest.raises(NotFound):
            keys.rotate(db, district, "nothing", 30)


def test_a_key_whose_holder_is_not_a_registry_person_is_refused(gateway):
    key, _ = add_key(gateway, "ghost", "resident", "GHOST", person="GHOST")
    response = gateway.call("GET", "/api/v1/me", key=key)
    assert response.status_code == 401 and "registry" in response.json()["error"]["message"]


def test_a_stored_key_of_another_district_is_refused(gateway):
    with gateway.database() as db:
        key, _ = keys.add(db, "310101", "elsewhere", "operator", "OP1", "OP1", 30)
    response = gateway.call("GET", "/api/v1/me", key=key)
    assert response.status_code == 403 and "310101" in response.json()["error"]["message"]


def run_cli(settings, *argv: str) -> int:
    import argparse

    from redprop.services.gateway import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["gateway", *argv])
    return args.func(args, settings)


def test_the_cli_makes_lists_rotates_and_revokes_keys_and_accounts(gateway, capsys, monkeypatch):
    import io

    settings = gateway.suite.settings
    assert run_cli(settings, "keys", "add", "cli-key", "grid_worker", "W1", "--days", "7") == 0
    out = capsys.readouterr()
    key = out.err.split("not stored): ", 1)[1].split()[0]
    assert '"person_id": "W1"' in out.out  # a person's key: its subject holds it (checked in the registry)
    assert status(gateway, key) == 200
    assert run_cli(settings, "keys", "rotate", "cli-key", "--grace-hours", "0") == 0
    rotated = capsys.readouterr().err.split("not stored): ", 1)[1].split()[0]
    assert run_cli(settings, "keys", "list") == 0
    listed = capsys.readouterr().out
    assert listed.count("cli-key") == 2 and "revoked" in listed and "active" in listed
    assert run_cli(settings, "keys", "revoke", "cli-key") == 0
    assert run_cli(settings, "keys", "revoke", "cli-key") == 1  # nothing active left: an error, said
    assert "not found" in capsys.readouterr().err
    time.sleep(CACHE_TTL + 0.2)
    assert status(gateway, key) == 401 and status(gateway, rotated) == 401
    # A key for someone the registry does not know is not made.
    assert run_cli(settings, "keys", "add", "nobody", "resident", "NOBODY") == 1
    assert "not found" in capsys.readouterr().err
    with gateway.database() as db:
        assert "nobody" not in {k.name for k in keys.listing(db, settings.district)}

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert run_cli(settings, "accounts", "add", "wang.wu", "P3", "--password-stdin") == 0
    assert gateway.login("wang.wu", "a long enough password").status_code == 200
    assert run_cli(settings, "accounts", "disable", "wang.wu") == 0
    assert run_cli(settings, "accounts", "list") == 0
    assert "wang.wu\tP3\tdisabled" in capsys.readouterr().out
