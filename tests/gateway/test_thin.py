"""The gateway stays thin: one reporter rule for REST and Open311, and ticketing's catalogue cached."""

from __future__ import annotations

import pytest

from redprop.errors import PermissionDenied
from redprop.services.gateway.auth import Principal, reporter_fields
from tests.gateway.conftest import key_of
from tests.shared.test_metrics import fetch, samples


def principal(role: str, subject: str) -> Principal:
    return Principal(name=f"{role}-key", role=role, district="990001", subject=subject)


def test_one_reporter_rule():
    resident = principal("resident", "P2")
    assert reporter_fields(resident, None, "resident_id") == {"resident_id": "P2"}
    assert reporter_fields(resident, "P2", "account_id", default="PUBLIC") == {"resident_id": "P2"}
    with pytest.raises(PermissionDenied) as refused:
        reporter_fields(resident, "P3", "account_id")
    assert refused.value.details["field"] == "account_id"
    worker = principal("grid_worker", "W1")
    assert reporter_fields(worker, "P3", "resident_id") == {"resident_id": "P3", "entered_by": "W1"}
    assert reporter_fields(worker, None, "account_id", default="PUBLIC") == {"resident_id": "PUBLIC",
                                                                          "entered_by": "W1"}
    assert reporter_fields(worker, None, "resident_id") is None  # names nobody: each API answers it


def catalogue_calls(gateway) -> float:
    status, text = fetch(gateway.suite.settings.metrics_port("ticketing"), "/metrics")
    assert status == 200
    return sum(v for (name, labels), v in samples(text).items()
               if name == "redprop_entrypoint_calls_total" and dict(labels).get("entrypoint") == "catalogue")


def test_open311_reads_the_catalogue_once_not_on_every_call(gateway):
    before = catalogue_calls(gateway)
    for path in ("/open311/v2/services.json", "/open311/v2/services/leak.json", "/open311/v2/services.json"):
        response = gateway.call("GET", path, key=key_of("operator"))
        assert response.status_code == 200, response.text
    assert catalogue_calls(gateway) - before == 1


def test_a_resident_id_sent_as_null_is_refused_not_read_as_absent(gateway):
    for role in ("resident", "grid_worker"):
        body = {"category": "leak", "building_id": "B1", "description": "楼道顶棚漏水", "resident_id": None}
        response = gateway.call("POST", "/api/v1/tickets", role, json=body)
        assert response.status_code == 422, response.text
        assert "resident_id" in response.text
