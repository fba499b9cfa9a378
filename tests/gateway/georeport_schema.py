"""Open311 GeoReport v2 response structures as JSON Schema, written from the specification
(http://wiki.open311.org/GeoReport_v2): field names, which are required, types and enumerations."""

from __future__ import annotations

from jsonschema import Draft202012Validator

STR = {"type": "string"}
OPT_STR = {"type": ["string", "null"]}
DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"}
OPT_DATETIME = {"anyOf": [DATETIME, {"type": "null"}]}

DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": DATETIME, "contact": STR, "key_service": STR,
        "endpoints": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["specification", "url", "changeset", "type", "formats"],
            "properties": {"specification": {"const": "http://wiki.open311.org/GeoReport_v2"},
                           "url": {"type": "string", "pattern": "^https?://"}, "changeset": DATETIME,
                           "type": {"enum": ["production", "test"]},
                           "formats": {"type": "array", "items": {"enum": ["application/json", "text/xml"]}}}}},
    },
}

SERVICE_LIST = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
        "properties": {"service_code": STR, "service_name": STR, "description": OPT_STR,
                       "metadata": {"type": "boolean"}, "type": {"enum": ["realtime", "batch", "blackbox"]},
                       "keywords": OPT_STR, "group": OPT_STR},
    },
}

SERVICE_DEFINITION = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {
        "service_code": STR,
        "attributes": {"type": "array", "items": {
            "type": "object",
            "required": ["variable", "code", "datatype", "required", "datatype_description", "order", "description"],
            "properties": {
                "variable": {"type": "boolean"}, "code": STR,
                "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
                "required": {"type": "boolean"}, "datatype_description": OPT_STR,
                "order": {"type": "integer"}, "description": STR,
                "values": {"type": "array", "items": {"type": "object", "required": ["key", "name"],
                                                      "properties": {"key": STR, "name": STR}}},
            },
            # A list datatype has its values.
            "if": {"properties": {"datatype": {"enum": ["singlevaluelist", "multivaluelist"]}}},
            "then": {"required": ["values"]},
        }},
    },
}

POST_RESPONSE = {
    "type": "array", "minItems": 1, "maxItems": 1,
    "items": {"type": "object", "required": ["service_request_id"],
              "properties": {"service_request_id": STR, "service_notice": OPT_STR, "account_id": OPT_STR}},
}

SERVICE_REQUESTS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                     "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                     "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"],
        "properties": {
            "service_request_id": STR, "status": {"enum": ["open", "closed"]}, "status_notes": OPT_STR,
            "service_name": OPT_STR, "service_code": STR, "description": OPT_STR, "agency_responsible": OPT_STR,
            "service_notice": OPT_STR, "requested_datetime": DATETIME, "updated_datetime": OPT_DATETIME,
            "expected_datetime": OPT_DATETIME, "address": OPT_STR, "address_id": OPT_STR, "zipcode": OPT_STR,
            "lat": {"type": ["number", "null"]}, "long": {"type": ["number", "null"]}, "media_url": OPT_STR,
        },
    },
}

ERRORS = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["code", "description"],
              "properties": {"code": {"type": "integer"}, "description": STR}},
}


def validate(schema: dict, document) -> None:
    errors = sorted(Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
