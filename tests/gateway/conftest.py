"""Fixtures for the gateway tests: the suite behind a gateway on a free port, and a key per role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
import requests

from redprop.services.gateway.keys import hash_key
from redprop.testing.pytest_plugin import TEST_DISTRICT, free_port

OTHER_DISTRICT = "310101"
#: role -> whom its key acts as, in the small district (tests/conftest.py).
SUBJECTS = {
    "resident": "P2",            # owns H1 and H2 in building B1
    "grid_worker": "P-CW",       # C1's community worker
    "community_admin": "P-SD",   # the subdistrict's officer (covers C1)
    "property_company": "CO1",   # runs complex X1
    "department": "DEP-WATER",
    "operator": "P-DO",          # the district officer (covers every ticket)
}
#: The registry person each unit's key is issued to (ticketing checks they hold a post in the unit).
PERSONS = {"property_company": "P-CS", "department": "P-WATER"}
ROLES = tuple(SUBJECTS)
PASSWORD = "correct horse battery"

#: Registry people with posts, each with an account ``<id lowercased>`` (``accounts`` fixture), and the gateway
#: role and subject their posts give.
PEOPLE = {
    "W1": ("grid_member", {"scope_id": "G1"}, "grid_worker", "W1"),
    "A1": ("community_worker", {"scope_id": "C1"}, "community_admin", "A1"),
    "OP1": ("operator", {"scope_id": "990001"}, "operator", "OP1"),
    "PCO1": ("company_staff", {"organisation_id": "CO1"}, "property_company", "CO1"),
    "PDW1": ("department_contact", {"organisation_id": "DEP-WATER"}, "department", "DEP-WATER"),
}


def people_records() -> list[dict]:
    """The small district's workers, operator and handlers' staff as registry people with posts."""
    records = []
    for person, (post, where, _, _) in PEOPLE.items():
        records.append({"kind": "person", "id": person, "name": f"测试{person}"})
        records.append({"kind": "role", "id": f"R-{person}", "person_id": person, "role": post,
                        "term_start": "2024-01-01", **where})
    return records


def key_of(role: str, district: str = TEST_DISTRICT) -> str:
    return f"test-key-{role}-{district}"


def api_keys() -> list[dict]:
    keys = [{"name": f"{role}-key", "role": role, "subject": subject, "district": TEST_DISTRICT,
             "sha256": hash_key(key_of(role)), **({"person_id": PERSONS[role]} if role in PERSONS else {})}
            for role, subject in SUBJECTS.items()]
    keys.append({"name": "resident-P3", "role": "resident", "subject": "P3", "district": TEST_DISTRICT,
                 "sha256": hash_key("test-key-resident-P3")})
    # Keys of another district, configured here by mistake: they must still be refused.
    keys += [{"name": f"other-{role}", "role": role, "subject": SUBJECTS[role], "district": OTHER_DISTRICT,
              "sha256": hash_key(key_of(role, OTHER_DISTRICT))} for role in ("operator", "resident")]
    return keys


@dataclass
class Gateway:
    base_url: str
    suite: object
    session: requests.Session = field(default_factory=requests.Session)

    def database(self):
        """A session on the gateway's own database, committed at the end (as the CLI writes it)."""
        from redprop.services.gateway.cli import database

        return database(self.suite.settings)

    def add_account(self, username: str, person_id: str, password: str = PASSWORD) -> None:
        from redprop.services.gateway import accounts

        with self.database() as db:
            accounts.add(db, self.suite.settings.district, username, person_id, password)

    def login(self, username: str, password: str = PASSWORD, client: requests.Session | None = None,
              **headers) -> requests.Response:
        client = client or requests.Session()
        return client.post(self.base_url + "/api/v1/session", json={"username": username, "password": password},
                           headers={"X-Requested-With": "redprop", **headers}, timeout=30)

    def call(self, method: str, path: str, role: str | None = None, *, key: str | None = None,
             headers: dict | None = None, **kwargs) -> requests.Response:
        headers = dict(headers or {})
        if role is not None:
            headers["X-API-Key"] = key_of(role)
        if key is not None:
            headers["X-API-Key"] = key
        return self.session.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def submit(self, role: str = "resident", **fields) -> dict:
        body = {"category": "leak", "building_id": "B1", "description": "楼道顶棚漏水", **fields}
        response = self.call("POST", "/api/v1/tickets", role, json=body)
        assert response.status_code == 201, response.text
        return response.json()["ticket"]


def start_gateway(run_suite, small_district, *extra_services: str, backend: str = "sqlite",
                  plugins: dict | None = None, **gateway_options) -> Gateway:
    port = free_port()
    options = {"http_host": "127.0.0.1", "http_port": port, "api_keys": api_keys(), **gateway_options}
    suite = run_suite("registry", "ticketing", *extra_services, "gateway", backend=backend,
                      services={"gateway": {"options": options},
                                "ticketing": {"options": {"sweep_interval": 3600}}},
                      **({"plugins": plugins} if plugins else {}))
    loaded = suite.rpc.registry.upsert(actor="P-DATA", records=[*small_district, *people_records()],
                                       request_id=f"load-{uuid.uuid4().hex[:8]}")
    assert loaded.applied and not loaded.errors, loaded.errors
    return Gateway(base_url=f"http://127.0.0.1:{port}", suite=suite)


@pytest.fixture
def gateway(run_suite, small_district) -> Gateway:
    return start_gateway(run_suite, small_district)
