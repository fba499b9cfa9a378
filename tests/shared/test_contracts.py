"""Contract conventions (contracts/base.py), JSON Schema export, and typed errors on the wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

import jsonschema
import pytest
from nameko.exceptions import MethodNotFound, RemoteError, deserialize, serialize
from pydantic import ValidationError

from redprop.contracts import all_contracts
from redprop.contracts import registry as c
from redprop.contracts.base import CommandRequest, Event, Reply, Request, ServiceContract
from redprop.docs.jsonschema import contract_schemas, error_schema, write_schemas
from redprop.errors import (
    ERROR_TYPES,
    Conflict,
    InternalError,
    NotFound,
    PermissionDenied,
    RedpropError,
    Unavailable,
    ValidationFailed,
)
from redprop.messaging.wire import error_payload


def error_types(exc: ValidationError) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]), e["type"]) for e in exc.errors()]


# -- conventions ---------------------------------------------------------------------------------


def structure_changed(**fields) -> c.StructureChanged:
    return c.StructureChanged(district="990001", structure_version=1, counts={}, changes=[], **fields)


def test_event_timestamps_must_be_timezone_aware():
    with pytest.raises(ValidationError) as err:
        structure_changed(occurred_at=datetime(2026, 3, 1, 8, 30))
    assert error_types(err.value) == [("occurred_at", "timezone_aware")]
    shanghai = timezone(timedelta(hours=8))
    event = structure_changed(occurred_at=datetime(2026, 3, 1, 8, 30, tzinfo=shanghai))
    assert event.occurred_at.utcoffset() == timedelta(hours=8)
    # A naive timestamp in JSON (no offset) is rejected too.
    with pytest.raises(ValidationError):
        c.StructureChanged.model_validate_json(json.dumps({
            "district": "990001", "structure_version": 1, "counts": {}, "changes": [],
            "occurred_at": "2026-03-01T08:30:00"}))


def test_events_get_a_fresh_id_and_an_aware_utc_timestamp_by_default():
    first, second = structure_changed(), structure_changed()
    assert first.event_id != second.event_id
    assert first.occurred_at.tzinfo is not None
    assert abs(datetime.now(UTC) - first.occurred_at) < timedelta(minutes=1)
    assert first.schema_version == 1


def test_event_district_must_be_a_six_digit_code():
    with pytest.raises(ValidationError) as err:
        c.StructureChanged(district="99001", structure_version=1, counts={}, changes=[])
    assert error_types(err.value)[0][0] == "district"


def test_requests_forbid_unknown_fields():
    with pytest.raises(ValidationError) as err:
        c.ResolveRequest(building_id="B1", colour="red")
    assert ("colour", "extra_forbidden") in error_types(err.value)
    with pytest.raises(ValidationError) as err:
        c.ResolveRequest.model_validate({"point": {"lat": 1, "lon": 2, "alt": 3}})
    assert ("point.alt", "extra_forbidden") in error_types(err.value)


def test_replies_and_events_ignore_unknown_fields_for_forward_compatibility():
    reply = c.RemoveReply.model_validate({"removed": True, "structure_version": 3, "added_in_1_1": "x"})
    assert reply.removed and not hasattr(reply, "added_in_1_1")
    event = c.StructureChanged.model_validate({"district": "990001", "structure_version": 1, "counts": {},
                                               "changes": [], "new_field": 1})
    assert event.structure_version == 1


def test_requests_strip_whitespace_and_check_ids():
    assert c.GetRequest(kind="person", id="  P1 ").id == "P1"
    with pytest.raises(ValidationError):
        c.GetRequest(kind="person", id="has space")
    with pytest.raises(ValidationError):
        c.GetRequest(kind="person", id="x" * 65)
    with pytest.raises(ValidationError):
        c.GetRequest(kind="flat", id="P1")


@pytest.mark.parametrize("request_id, ok", [
    ("abcd1234", True),
    ("retry-0001", True),
    ("a.b_c:d-e" + "0" * 55, True),   # 64 characters
    ("a" * 65, False),
    ("short", False),
    ("has space 1", False),
    ("slash/0001", False),
    ("", False),
])
def test_command_request_ids(request_id, ok):
    fields = {"kind": "person", "id": "P1", "request_id": request_id, "actor": "P-DATA"}
    if ok:
        assert c.RemoveRequest(**fields).request_id == request_id
    else:
        with pytest.raises(ValidationError) as err:
            c.RemoveRequest(**fields)
        assert error_types(err.value)[0][0] == "request_id"


def test_a_command_request_needs_a_request_id():
    with pytest.raises(ValidationError) as err:
        c.RemoveRequest(kind="person", id="P1")
    assert ("request_id", "missing") in error_types(err.value)


def test_exactly_one_of_the_resolve_keys():
    assert c.ResolveRequest(household_id="H1").household_id == "H1"
    for fields in ({}, {"building_id": "B1", "complex_id": "X1"}):
        with pytest.raises(ValidationError, match="give exactly one of"):
            c.ResolveRequest(**fields)
    with pytest.raises(ValidationError):
        c.ResolveRequest(point={"lat": 91, "lon": 0})


def test_household_areas_are_exact_decimals():
    record = c.HouseholdRecord(id="H1", building_id="B1", unit="1-101", area_m2="88.50")
    assert str(record.area_m2) == "88.50"
    assert record.model_dump(mode="json")["area_m2"] == "88.50"
    for bad in ("0", "-3", "88.505", "100000.01"):
        with pytest.raises(ValidationError):
            c.HouseholdRecord(id="H1", building_id="B1", unit="1-101", area_m2=bad)


# -- service contracts ---------------------------------------------------------------------------


class PingRequest(Request):
    pass


class PingCommand(CommandRequest):
    pass


class PingReply(Reply):
    ok: bool = True


class Pinged(Event):
    event_type: ClassVar[str] = "demo.pinged"


class Misnamed(Event):
    event_type: ClassVar[str] = "other.pinged"


class Prefixed(Event):
    event_type: ClassVar[str] = "demonstration.pinged"  # starts with "demo" but not "demo."


def test_a_command_must_take_a_command_request():
    contract = ServiceContract(service="demo", version="2.1.0", summary="")
    with pytest.raises(TypeError, match="demo.ping: a command's request must derive from CommandRequest"):
        contract.command("ping", PingRequest, PingReply, "")
    op = contract.command("ping", PingCommand, PingReply, "Ping, idempotently.")
    assert op.kind == "command" and op.persistent
    assert contract.query("look", PingRequest, PingReply, "").persistent is False
    assert contract.major == 2


def test_an_operation_cannot_be_declared_twice():
    contract = ServiceContract(service="demo", version="1.0.0", summary="")
    contract.query("look", PingRequest, PingReply, "")
    with pytest.raises(ValueError, match="declared twice"):
        contract.query("look", PingRequest, PingReply, "")


def test_event_types_must_start_with_the_service_name():
    contract = ServiceContract(service="demo", version="1.0.0", summary="")
    assert contract.event(Pinged) is Pinged
    for wrong in (Misnamed, Prefixed):
        with pytest.raises(TypeError, match="must start with 'demo'"):
            contract.event(wrong)
    assert list(contract.events) == ["demo.pinged"]
    assert contract.describe()["events"] == ["demo.pinged"]


def test_the_registry_contract_is_found_and_consistent():
    contracts = all_contracts()
    registry = contracts["registry"]
    assert registry is c.CONTRACT
    assert {"resolve", "get", "upsert", "import_dataset", "remove"} <= set(registry.operations)
    for op in registry.operations.values():
        if op.kind == "command":
            assert issubclass(op.request, CommandRequest), op.name
        else:
            assert not issubclass(op.request, CommandRequest), op.name
    assert set(registry.events) == {"registry.structure_changed", "registry.roles_changed", "registry.person_erased"}


# -- JSON Schema export --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schemas(tmp_path_factory):
    out = tmp_path_factory.mktemp("schemas")
    written = write_schemas(out / "nested" / "dir")
    return {p.name.removesuffix(".schema.json"): json.loads(p.read_text(encoding="utf-8")) for p in written}


def test_write_schemas_writes_one_file_per_message_and_the_error(schemas):
    expected = {"error", "registry.structure_changed", "registry.roles_changed"}
    for op in c.CONTRACT.operations:
        expected |= {f"registry.{op}.request", f"registry.{op}.reply"}
    assert expected <= set(schemas)
    assert set(contract_schemas(c.CONTRACT)) | {"error"} <= set(schemas)


def test_every_written_schema_is_a_valid_json_schema(schemas):
    for name, schema in schemas.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        if name == "error" or name.startswith("registry."):
            assert schema.get("type") == "object", name


def test_the_request_schema_accepts_good_requests_and_rejects_unknown_fields(schemas):
    validator = jsonschema.Draft202012Validator(schemas["registry.resolve.request"])
    assert validator.is_valid({"building_id": "B1"})
    assert validator.is_valid({"point": {"lat": 31.0, "lon": 121.0}, "max_distance_m": 100})
    assert not validator.is_valid({"building_id": "B1", "colour": "red"})
    assert not validator.is_valid({"building_id": "has space"})
    assert not validator.is_valid({"point": {"lat": 91, "lon": 0}})
    upsert = jsonschema.Draft202012Validator(schemas["registry.upsert.request"])
    assert "request_id" in upsert.schema["required"]
    assert not upsert.is_valid({"records": [{"kind": "person", "id": "P1", "name": "x"}]})
    assert not upsert.is_valid({"records": [{"kind": "person", "id": "P1", "name": "x"}],
                                "request_id": "abcd1234"})  # names nobody acting (since 1.1)
    assert upsert.is_valid({"records": [{"kind": "person", "id": "P1", "name": "x"}],
                            "request_id": "abcd1234", "actor": "P-DATA"})


def test_real_replies_and_events_validate_against_their_schemas(schemas):
    reply = c.ChangeReport(district="990001", applied=False, structure_version=2,
                           counts={"household": c.ChangeCounts(rejected=1)},
                           errors=[c.RowError(source="households.csv", row=3, kind="household", id="H9",
                                              field="area_m2", message="bad")])
    jsonschema.validate(reply.model_dump(mode="json"), schemas["registry.upsert.reply"])
    event = c.StructureChanged(district="990001", structure_version=2, counts={},
                               changes=[c.EntityChange(kind="person", id="P1", change="created")])
    jsonschema.validate(json.loads(event.model_dump_json()), schemas["registry.structure_changed"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event.model_dump(mode="json"), "changes": [{"kind": "person"}]},
                            schemas["registry.structure_changed"])


def test_the_error_schema_matches_real_error_payloads(schemas):
    assert schemas["error"] == error_schema()
    validator = jsonschema.Draft202012Validator(schemas["error"])
    for exc in (NotFound.entity("building", "B9", "building_id"), RuntimeError("boom"),
                ValidationFailed.for_field("point.lat", "too big"), MethodNotFound("registry.nope")):
        payload = error_payload(exc)
        assert validator.is_valid(payload), payload
        json.dumps(payload)  # plain JSON
    codes = set(schemas["error"]["properties"]["code"]["enum"])
    assert {e.code for e in ERROR_TYPES} | {"bad_request"} == codes


# -- errors across the wire ----------------------------------------------------------------------


TYPED_ERRORS = [
    NotFound.entity("building", "B9", "building_id"),
    ValidationFailed.for_fields([{"field": "point.lat", "message": "must be <= 90", "type": "less_than_equal"},
                                 {"field": "", "message": "give exactly one", "type": "value_error"}]),
    Conflict("reused request id", {"field": "request_id", "request_id": "abcd1234"}),
    PermissionDenied("not your district", {"district": "990001"}),
    InternalError("internal error (reference abc)", {"reference": "abc"}),
    Unavailable("registry did not answer", {"operation": "registry.resolve", "nested": {"a": ["b", "c"]}}),
]


@pytest.mark.parametrize("exc", TYPED_ERRORS, ids=lambda e: type(e).__name__)
def test_typed_errors_survive_nameko_serialisation(exc):
    data = json.loads(json.dumps(serialize(exc)))
    back = deserialize(data)
    assert type(back) is type(exc)
    assert back.message == exc.message
    assert back.details == exc.details
    assert back.code == exc.code


@pytest.mark.parametrize("exc", TYPED_ERRORS, ids=lambda e: type(e).__name__)
def test_typed_errors_survive_the_wire_payload(exc):
    payload = json.loads(json.dumps(error_payload(exc)))
    # For any client: code, message and details.
    assert payload["code"] == exc.code
    assert payload["message"] == exc.message
    assert payload["details"] == exc.details
    # For nameko clients: the same exception type.
    back = deserialize(payload)
    assert type(back) is type(exc)
    assert (back.message, back.details) == (exc.message, exc.details)


def test_validation_failed_keeps_its_fields():
    exc = ValidationFailed.for_field("records.1.household.area_m2", "must be > 0", "greater_than")
    back = deserialize(error_payload(exc))
    assert back.fields == [{"field": "records.1.household.area_m2", "message": "must be > 0",
                            "type": "greater_than"}]
    assert str(back) == "invalid request: records.1.household.area_m2"


def test_validation_failed_from_pydantic_names_dotted_fields():
    with pytest.raises(ValidationError) as err:
        c.ResolveRequest.model_validate({"point": {"lat": 91, "lon": 0}})
    exc = ValidationFailed.from_pydantic(err.value, prefix="body")
    assert [f["field"] for f in exc.fields] == ["body.point.lat"]
    with pytest.raises(ValidationError) as err:
        c.ResolveRequest.model_validate({})
    assert [f["field"] for f in ValidationFailed.from_pydantic(err.value).fields] == [""]
    assert "(body)" in str(ValidationFailed.from_pydantic(err.value))


class SecretError(Exception):
    pass


def test_an_unexpected_exception_becomes_an_internal_error_with_a_reference(caplog):
    try:
        {}["db-password-hunter2"]
    except KeyError as exc:
        payload = error_payload(exc)
    text = json.dumps(payload)
    assert payload["code"] == "internal_error"
    reference = payload["details"]["reference"]
    assert len(reference) == 12
    assert reference in payload["message"]
    assert "hunter2" not in text
    assert "Traceback" not in text
    assert "KeyError" not in text
    back = deserialize(payload)
    assert isinstance(back, InternalError)
    assert back.details == {"reference": reference}
    # The traceback is in the log, findable by the reference.
    logged = [r for r in caplog.records if reference in r.getMessage()]
    # Once redprop.logs is set up, the privacy filter leaves only the masked traceback text (exc_text).
    assert logged and (logged[0].exc_info is not None or "KeyError" in (logged[0].exc_text or ""))


def test_each_unexpected_exception_gets_its_own_reference():
    first = error_payload(SecretError("x"))["details"]["reference"]
    second = error_payload(SecretError("x"))["details"]["reference"]
    assert first != second


def test_nameko_bad_requests_are_reported_as_bad_request():
    payload = error_payload(MethodNotFound("registry.nope"))
    assert payload["code"] == "bad_request"
    assert "registry.nope" in payload["message"]
    assert isinstance(deserialize(payload), MethodNotFound)


def test_an_unregistered_error_type_arrives_as_a_remote_error():
    back = deserialize(serialize(SecretError("not for the wire")))
    assert isinstance(back, RemoteError)
    assert back.exc_type == "SecretError"


def test_every_error_type_is_registered_and_has_a_distinct_code():
    codes = [e.code for e in ERROR_TYPES]
    assert len(codes) == len(set(codes))
    for error_type in ERROR_TYPES:
        assert issubclass(error_type, RedpropError)
        exc = error_type("m", {"k": "v"})
        assert type(deserialize(serialize(exc))) is error_type


def test_the_contracts_import_nothing_of_messaging_or_the_renderers():
    """Contracts are data: importing every one of them loads no messaging module and no document renderer."""
    import subprocess
    import sys

    probe = ("import sys; from redprop.contracts import all_contracts; all_contracts(); "
             "print(sorted(m for m in sys.modules if m.startswith(('redprop.messaging', 'redprop.docs'))))")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"



@pytest.mark.parametrize("month", ["0000-01", "1999-12", "2026-13", "2026-00", "٢٠٢٦-05", "2026-5"])
def test_a_month_outside_20xx_or_in_other_digits_is_refused_at_the_edge(month):
    # "0000-01" matched \d{4} and became a 500 when the service built date(0, 1, 1).
    from redprop.contracts import mediation as m
    from redprop.contracts import ticketing as t

    for request in (t.MonthlySummaryRequest, m.DraftAgendaRequest):
        with pytest.raises(ValidationError) as refused:
            request(complex_id="X1", month=month)
        assert refused.value.errors()[0]["loc"] == ("month",)
        assert request(complex_id="X1", month="2026-05").month == "2026-05"


def test_replies_and_events_say_the_major_version_of_their_services_contract():
    from redprop.clock import utcnow
    from redprop.contracts import contract_for, mediation
    from redprop.messaging.outbox import outbox_values

    major = contract_for("mediation").major
    assert major > 1  # else this test could not tell the contract's major from the models' default
    cast = mediation.BallotCast(district="990001", consultation_id="C1", person_id="P1", cast_at=utcnow())
    row = outbox_values("mediation", cast)
    assert json.loads(row["payload"])["schema_version"] == major
    assert json.loads(row["headers"])["x-redprop-schema-version"] == str(major)
    assert json.loads(outbox_values("registry", structure_changed())["payload"])["schema_version"] == 1
    # The published schemas say so too; a request's stays optional (null: "the current one").
    schemas = contract_schemas(contract_for("mediation"))
    assert schemas["mediation.ballot_cast"]["properties"]["schema_version"]["default"] == major
    assert schemas["mediation.tally.reply"]["properties"]["schema_version"]["default"] == major
    assert schemas["mediation.tally.request"]["properties"]["schema_version"]["default"] is None
