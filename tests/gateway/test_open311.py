"""Open311 GeoReport v2: discovery, services, POST requests, GET requests with filters and limits;
JSON validated against the spec's structures, XML parsed and checked."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from redprop.testing.tickets import get_ticket
from tests.gateway import georeport_schema as spec
from tests.gateway.conftest import OTHER_DISTRICT, key_of, start_gateway

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(run_suite, small_district):
    return start_gateway(run_suite, small_district, open311={"max_requests": 3, "public_reporter_id": "P1"})


def post(gateway, role="resident", **form):
    return gateway.call("POST", "/open311/v2/requests.json", role,
                        data={"service_code": "leak", "description": "水管漏水", **form})


def test_discovery_and_services_in_json_and_xml(gateway):
    discovery = gateway.call("GET", "/open311/discovery.json").json()
    spec.validate(spec.DISCOVERY, discovery)
    assert discovery["endpoints"][0]["url"] == gateway.base_url + "/open311/v2"

    services = gateway.call("GET", "/open311/v2/services.json").json()
    spec.validate(spec.SERVICE_LIST, services)
    catalogue = gateway.suite.rpc.ticketing.catalogue().categories
    assert {s["service_code"] for s in services} == {c.code for c in catalogue}

    definition = gateway.call("GET", "/open311/v2/services/leak.json").json()
    spec.validate(spec.SERVICE_DEFINITION, definition)
    assert {a["code"] for a in definition["attributes"]} == {"building_id", "complex_id", "urgency"}

    xml = ET.fromstring(gateway.call("GET", "/open311/v2/services.xml").content)
    assert xml.tag == "services" and len(xml.findall("service")) == len(services)
    assert {s.findtext("service_code") for s in xml.findall("service")} == {s["service_code"] for s in services}
    xml = ET.fromstring(gateway.call("GET", "/open311/v2/services/leak.xml").content)
    assert xml.tag == "service_definition" and xml.findtext("service_code") == "leak"
    urgency = [a for a in xml.find("attributes").findall("attribute") if a.findtext("code") == "urgency"][0]
    assert [v.findtext("key") for v in urgency.find("values").findall("value")] == ["normal", "urgent", "emergency"]
    assert ET.fromstring(gateway.call("GET", "/open311/discovery.xml").content).tag == "discovery"

    missing = gateway.call("GET", "/open311/v2/services/no_such_code.json")
    assert missing.status_code == 404
    spec.validate(spec.ERRORS, missing.json())
    assert gateway.call("GET", "/open311/v2/services.json?jurisdiction_id=999999").status_code == 404
    assert gateway.call("GET", "/open311/v2/services.json?jurisdiction_id=990001").status_code == 200


def test_post_a_request_and_read_it_back(gateway):
    created = post(gateway, **{"attribute[building_id]": "B1", "attribute[urgency]": "urgent"})
    assert created.status_code == 201, created.text
    spec.validate(spec.POST_RESPONSE, created.json())
    request_id = created.json()[0]["service_request_id"]

    one = gateway.call("GET", f"/open311/v2/requests/{request_id}.json", "resident").json()
    spec.validate(spec.SERVICE_REQUESTS, one)
    request = one[0]
    ticket = get_ticket(gateway.suite, request_id)
    assert request["status"] == "open" and request["service_code"] == "leak"
    assert request["agency_responsible"] == ticket.handler.name == "安居物业"
    assert request["expected_datetime"] == ticket.resolution_due_at.isoformat()
    assert request["address_id"] == "B1" and ticket.urgency == "urgent" and ticket.resident_id == "P2"
    # The address is written out for people, most specific first (not the registry's id).
    assert request["address"] == "1号楼, 阳光小区, 幸福社区, 测试街道, 测试区 Test District"

    # The handler resolves it: closed for Open311, with the handler's summary as the status notes.
    rpc = gateway.suite.rpc
    company = {"kind": "handler", "handler_kind": "property_company", "id": "CO1", "person_id": "P-CS"}
    rpc.ticketing.accept(ticket_id=request_id, actor=company, request_id=uuid.uuid4().hex)
    rpc.ticketing.resolve(ticket_id=request_id, actor=company, summary="更换了水管接头", request_id=uuid.uuid4().hex)
    xml = ET.fromstring(gateway.call("GET", f"/open311/v2/requests/{request_id}.xml", "resident").content)
    assert xml.tag == "service_requests"
    node = xml.find("request")
    assert node.findtext("status") == "closed" and node.findtext("status_notes") == "resolved: 更换了水管接头"

    # By location (lat/long), for another reporter (a worker's key with account_id), JSON body.
    by_point = gateway.call("POST", "/open311/v2/requests.json", "grid_worker",
                            json={"service_code": "leak", "description": "路面积水", "lat": 31.0, "long": 121.0,
                                  "account_id": "P3"})
    assert by_point.status_code == 201, by_point.text
    point_ticket = get_ticket(rpc, by_point.json()[0]["service_request_id"])
    assert point_ticket.resident_id == "P3" and point_ticket.location.point.lat == 31.0
    # An anonymous report from an app key goes to the configured public reporter.
    anonymous = post(gateway, "operator", address_id="B2", email="someone@example.cn")
    assert get_ticket(rpc, anonymous.json()[0]["service_request_id"]).resident_id == "P1"


def test_post_errors_in_georeport_format(gateway):
    for response, status in [
        # GeoReport v2: "403 - api_key was not provided or is invalid".
        (gateway.call("POST", "/open311/v2/requests.json", data={"service_code": "leak"}), 403),
        (gateway.call("POST", "/open311/v2/requests.json", key="not-a-key", data={"service_code": "leak"}), 403),
        (gateway.call("POST", "/open311/v2/requests.json", data={"service_code": "leak", "api_key": ""}), 403),
        (gateway.call("POST", "/open311/v2/requests.json", key=key_of("resident", OTHER_DISTRICT),
                      data={"service_code": "leak"}), 403),
        (post(gateway), 400),                                              # no location
        (post(gateway, lat="north", long="121"), 400),                     # not a number
        (post(gateway, service_code="no_such", address_id="B1"), 404),     # an unknown service_code
        (post(gateway, address_string="火星路1号"), 404),                   # an address nothing matches
        (post(gateway, address_id="NO-SUCH"), 404),
        (post(gateway, address_id="B1", jurisdiction_id="999999"), 404),
        (post(gateway, address_id="B1", account_id="P3"), 403),            # a resident reports as themself
        (post(gateway, "department", address_id="B1"), 403),               # departments do not report
    ]:
        assert response.status_code == status, response.text
        spec.validate(spec.ERRORS, response.json())
        assert response.json()[0]["code"] == status
    xml = gateway.call("POST", "/open311/v2/requests.xml", "resident", data={"service_code": "leak"})
    assert xml.status_code == 400
    root = ET.fromstring(xml.content)
    assert root.tag == "errors" and root.find("error").findtext("code") == "400"
    assert "lat" in root.find("error").findtext("description")
    # The api_key parameter works as a form field too (GeoReport's own way).
    as_field = gateway.call("POST", "/open311/v2/requests.json",
                            data={"api_key": key_of("resident"), "service_code": "leak", "description": "漏水",
                                  "address_id": "B1"})
    assert as_field.status_code == 201


def test_address_string_alone_is_a_location_and_empty_arguments_are_not_sent(gateway):
    rpc = gateway.suite.rpc
    for text, building, complex_ in [("阳光小区 1号楼", "B1", "X1"), ("老街小区１号楼门口", "B2", "X2"),
                                      ("阳光小区东门", None, "X1")]:
        created = post(gateway, address_string=text, address_id="", lat="", long="", email="",
                       **{"attribute[building_id]": "", "attribute[urgency]": ""})
        assert created.status_code == 201, (text, created.text)
        ticket = get_ticket(rpc, created.json()[0]["service_request_id"])
        assert (ticket.location.building_id, ticket.location.complex_id) == (building, complex_), text
        assert ticket.urgency == "normal"
    nothing = post(gateway, address_string="火星路 1 号")
    assert nothing.status_code == 404
    assert "address_string" in nothing.json()[0]["description"] and "matches" in nothing.json()[0]["description"]
    # Empty everywhere but the service code: still "give a location", not an error about the empties.
    empty = post(gateway, address_string=" ", lat="", long="", account_id="")
    assert empty.status_code == 400 and "lat" in empty.json()[0]["description"]


def test_get_requests_filters_and_limits(gateway):
    rpc = gateway.suite.rpc
    ids = [post(gateway, address_id="B1", description=f"漏水 {i}").json()[0]["service_request_id"] for i in range(3)]
    noise = post(gateway, address_id="B1", service_code="noise", description="夜间施工噪音").json()[0]["service_request_id"]
    rpc.ticketing.cancel(ticket_id=ids[0], actor={"kind": "resident", "id": "P2"}, reason="已自行修好",
                         request_id=uuid.uuid4().hex)

    def get(query: str, role="operator"):
        response = gateway.call("GET", f"/open311/v2/requests.json{query}", role)
        assert response.status_code == 200, response.text
        spec.validate(spec.SERVICE_REQUESTS, response.json())
        return [r["service_request_id"] for r in response.json()]

    assert len(get("")) == 3  # max_requests, newest first
    assert get("")[0] == noise
    assert set(get("?service_code=leak&status=open")) == set(ids[1:])
    assert get("?status=closed") == [ids[0]]
    assert set(get(f"?service_request_id={ids[0]},{noise}")) == {ids[0], noise}
    assert get(f"?service_request_id={ids[0]},NOPE") == [ids[0]]
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert get(f"?start_date={future}") == []
    assert get(f"?end_date={past}") == []
    assert len(get(f"?start_date={past}&end_date={future}&service_code=leak")) == 3
    # A resident sees only their own: P3 has none.
    p3 = gateway.call("GET", "/open311/v2/requests.json", key="test-key-resident-P3")
    assert p3.status_code == 200 and p3.json() == []
    assert gateway.call("GET", f"/open311/v2/requests/{ids[1]}.json", key="test-key-resident-P3").status_code == 404
    assert get(f"?start_date={future}&end_date={past}") == []  # an empty range
    for bad in ("?status=pending", "?status=open,pending", "?start_date=yesterday", "?end_date=2026-13-01T00:00:00Z"):
        response = gateway.call("GET", f"/open311/v2/requests.json{bad}", "operator")
        assert response.status_code == 400, (bad, response.text)
        spec.validate(spec.ERRORS, response.json())
    assert gateway.call("GET", "/open311/v2/requests.json").status_code == 403
    # Lists: comma-delimited, repeated, or both; an unknown code among them is 404.
    both = get("?service_code=leak,noise&start_date=" + past)
    assert len(both) == 3 and both[0] == noise  # max_requests 3
    assert get("?service_code=noise") == [noise]
    assert get("?service_code=noise&service_code=noise") == [noise]
    assert set(get("?service_code=leak&status=open,closed")) <= set(ids) and len(get("?status=open&status=closed")) == 3
    assert get("?status=closed,closed") == [ids[0]]
    unknown = gateway.call("GET", "/open311/v2/requests.json?service_code=leak,nope", "operator")
    assert unknown.status_code == 404 and "nope" in unknown.json()[0]["description"]
    # An optional argument sent empty is not sent.
    assert get("?service_code=&status=&start_date=&end_date=&jurisdiction_id=&service_request_id=") == get("")
    xml = ET.fromstring(gateway.call("GET", "/open311/v2/requests.xml?status=closed", "operator").content)
    assert [r.findtext("service_request_id") for r in xml.findall("request")] == [ids[0]]
