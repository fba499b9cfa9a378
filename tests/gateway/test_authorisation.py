"""Every role against every endpoint: the role table decides, before any service is asked; keys of
another district and missing keys are refused everywhere; public endpoints need no key."""

from __future__ import annotations

import pytest

from redprop.services.gateway.auth import PERMISSIONS
from redprop.services.gateway.http import routes_of
from redprop.services.gateway.service import GatewayService
from tests.gateway.conftest import OTHER_DISTRICT, ROLES, key_of, start_gateway

pytestmark = pytest.mark.integration


def role_denied(spec, response) -> bool:
    """Whether the gateway's role check refused (not a service refusing an allowed role's request)."""
    if response.status_code != 403:
        return False
    if spec.open311:
        return f"({spec.permission})" in response.json()[0]["description"]
    return response.json()["error"]["details"].get("permission") == spec.permission


def test_every_role_against_every_endpoint(run_suite, small_district):
    gateway = start_gateway(run_suite, small_district, "mediation", "evaluation", "participation", "projects",
                            "matching")
    ticket = gateway.submit("resident")["id"]
    values = {"ticket_id": ticket, "service_request_id": ticket, "community_id": "C1", "consultation_id": "NOPE",
              "format": "json", "service_code": "leak", "activity_id": "NOPE", "complex_id": "X1",
              "project_id": "NOPE", "proposal_id": "NOPE", "photo_id": "0" * 32}
    protected = [spec for spec in routes_of(GatewayService) if spec.permission]
    assert len(protected) >= 20
    outcomes = {}
    for spec in protected:
        path = spec.path.format(**values)
        allowed = PERMISSIONS[spec.permission]
        for role in ROLES:
            kwargs = {"json": {}} if spec.method == "POST" else {}
            response = gateway.call(spec.method, path, role, **kwargs)
            assert response.status_code < 500, (spec.operation_id, role, response.text)
            denied = role_denied(spec, response)
            assert denied == (role not in allowed), (spec.operation_id, role, response.status_code, response.text)
            outcomes[(spec.operation_id, role)] = response.status_code
        # No key: 401 (Open311: 403, as GeoReport v2 has it); a key of another district: 403, whatever the role.
        assert gateway.call(spec.method, path).status_code == (403 if spec.open311 else 401), spec.operation_id
        for role in ("operator", "resident"):
            other = gateway.call(spec.method, path, key=key_of(role, OTHER_DISTRICT))
            assert other.status_code == 403 and OTHER_DISTRICT in other.text, (spec.operation_id, other.text)
    # Spot checks of what the table means.
    assert outcomes[("rateTicket", "property_company")] == 403
    assert outcomes[("acceptTicket", "resident")] == 403
    assert outcomes[("dispatchTicket", "department")] == 403
    assert outcomes[("castBallot", "grid_worker")] == 403
    assert outcomes[("getTicket", "resident")] == 200 and outcomes[("getTicket", "property_company")] == 200
    assert outcomes[("getTicket", "department")] == 404  # not the department's ticket
    assert outcomes[("getLeagueTable", "resident")] == 200
    assert outcomes[("createActivity", "resident")] == 403 and outcomes[("checkIn", "operator")] == 403
    assert outcomes[("mergeTicket", "resident")] == 403 and outcomes[("listProposals", "property_company")] == 403
    assert outcomes[("getMyVote", "grid_worker")] == 403
    assert outcomes[("getBoardPage", "resident")] == 200 and outcomes[("getComplexProjects", "department")] == 200

    # Public endpoints answer without a key (logging in and out: tests/gateway/test_sessions.py).
    for spec in (s for s in routes_of(GatewayService) if not s.permission and "account" not in s.tags):
        response = gateway.call(spec.method, spec.path.format(**values))
        assert response.status_code == 200, (spec.operation_id, response.text)
