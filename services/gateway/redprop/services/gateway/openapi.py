"""The gateway's OpenAPI 3.1 document, built from its route table and the contracts' models.

Served at ``/openapi.json``; ``docs/openapi.json`` is the checked-in copy (``redprop gateway openapi``).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from redprop.services.gateway.auth import PERMISSIONS
from redprop.services.gateway.http import FORMATS, STATUS, RouteSpec, routes_of

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"

DESCRIPTION = """\
HTTP access to one redprop district for residents, grid workers, community admins, property
companies, departments and operators, and an Open311 GeoReport v2 endpoint for civic reporting apps.

**Authentication.** Send your API key as `X-API-Key: <key>` (or `Authorization: Bearer <key>`; Open311
clients may send `api_key`). Keys are issued per district and role, may expire and be revoked; this
gateway serves one district and refuses keys of another (403). People log in with `POST /api/v1/session`
and are then known by the HttpOnly cookie `redprop_session`; a request that changes something with the
cookie must send `X-Requested-With: redprop` (CSRF). Where the district configures OIDC, a bearer JWT of
its issuer works as well. What each role may do is listed on each operation (`x-redprop-roles`); the
services still check that you act on what is yours.

**Idempotency.** Send `Idempotency-Key: <8-64 chars>` with a POST: a retry with the same key returns
the first answer and changes nothing twice.

**Errors.** `{"error": {"status", "code", "message", "details"}}` with 400 (malformed request), 401
(no or unknown key, no session), 403 (not allowed), 404 (also what you may not see), 405, 409 (illegal
state transition, reused idempotency key), 422 (invalid fields, each named in `details.fields`), 429
(too many failed logins: see `Retry-After`), 503 (a service did not answer). Open311
endpoints answer errors in GeoReport's own shape, `[{"code", "description"}]` (XML: `<errors>`).
"""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["status", "code", "message", "details"],
        "properties": {
            "status": {"type": "integer"},
            "code": {"type": "string", "enum": sorted(STATUS)},
            "message": {"type": "string"},
            "details": {"type": "object"},
        },
    }},
}
OPEN311_ERRORS = {"type": "array", "items": {
    "type": "object", "required": ["code", "description"],
    "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}}
_OPT_STR = {"type": ["string", "null"]}
_ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"}
_BLANK = {"type": "string", "pattern": r"^\s*$"}


def _optional(schema: dict) -> dict:
    """A GeoReport argument that may also be sent empty (which is the same as not sending it)."""
    return {"anyOf": [_BLANK, schema]}


#: POST Service Request, as the server takes it. The location is one of: attribute[building_id] or
#: address_id (a building), attribute[complex_id], lat with long, or address_string (matched against the
#: registry; 404 when nothing matches). An unknown service_code is 404.
_LOCATIONS = [{"required": names, "properties": {name: schema for name, schema in props.items()}}
              for names, props in [
                  (["attribute[building_id]"], {"attribute[building_id]": _ID}),
                  (["address_id"], {"address_id": _ID}),
                  (["attribute[complex_id]"], {"attribute[complex_id]": _ID}),
                  (["lat", "long"], {"lat": {"type": "number"}, "long": {"type": "number"}}),
                  (["address_string"], {"address_string": {"type": "string", "pattern": r"\S"}}),
              ]]
OPEN311_POST_FORM: dict[str, Any] = {
    "type": "object", "required": ["service_code"], "anyOf": _LOCATIONS,
    "properties": {
        "api_key": {"type": "string"}, "jurisdiction_id": _optional({"type": "string", "maxLength": 64}),
        "service_code": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": r"\S"},
        # Optional (the service's name stands in); when given, at least two characters.
        "description": _optional({"type": "string", "maxLength": 10_000, "pattern": r"\S[\s\S]*\S"}),
        "lat": _optional({"type": "number", "minimum": -90, "maximum": 90}),
        "long": _optional({"type": "number", "minimum": -180, "maximum": 180}),
        "address_id": _optional(_ID), "address_string": _optional({"type": "string", "maxLength": 500}),
        "account_id": _optional(_ID), "email": _optional({"type": "string", "maxLength": 254}),
        "device_id": _optional({"type": "string", "maxLength": 200}),
        "phone": _optional({"type": "string", "maxLength": 50}), "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "media_url": _optional({"type": "string", "maxLength": 2000, "format": "uri", "pattern": r"^https?://[A-Za-z0-9]"}),
        "attribute[building_id]": _optional(_ID), "attribute[complex_id]": _optional(_ID),
        "attribute[urgency]": _optional({"enum": ["normal", "urgent", "emergency"]}),
    },
}
OPEN311_SCHEMAS: dict[str, Any] = {
    "Open311Discovery": {"type": "object", "required": ["changeset", "contact", "endpoints"], "properties": {
        "changeset": {"type": "string"}, "contact": {"type": "string"}, "key_service": {"type": "string"},
        "endpoints": {"type": "array", "items": {"type": "object", "properties": {
            "specification": {"type": "string"}, "url": {"type": "string"}, "changeset": {"type": "string"},
            "type": {"type": "string"}, "formats": {"type": "array", "items": {"type": "string"}}}}}}},
    "Open311Services": {"type": "array", "items": {"type": "object", "required": [
        "service_code", "service_name", "metadata", "type"], "properties": {
        "service_code": {"type": "string"}, "service_name": {"type": "string"}, "description": _OPT_STR,
        "metadata": {"type": "boolean"}, "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": _OPT_STR, "group": _OPT_STR}}},
    "Open311ServiceDefinition": {"type": "object", "required": ["service_code", "attributes"], "properties": {
        "service_code": {"type": "string"}, "attributes": {"type": "array", "items": {"type": "object"}}}},
    "Open311Requests": {"type": "array", "items": {"type": "object", "required": [
        "service_request_id", "status", "service_code", "requested_datetime"], "properties": {
        "service_request_id": {"type": "string"}, "status": {"enum": ["open", "closed"]},
        "status_notes": _OPT_STR, "service_name": _OPT_STR, "service_code": {"type": "string"},
        "description": _OPT_STR, "agency_responsible": _OPT_STR, "service_notice": _OPT_STR,
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": ["string", "null"], "format": "date-time"},
        "expected_datetime": {"type": ["string", "null"], "format": "date-time"},
        "address": _OPT_STR, "address_id": _OPT_STR, "zipcode": _OPT_STR,
        "lat": {"type": ["number", "null"]}, "long": {"type": ["number", "null"]}, "media_url": _OPT_STR}}},
    "Open311Created": {"type": "array", "items": {"type": "object", "required": ["service_request_id"],
                                                  "properties": {"service_request_id": {"type": "string"},
                                                                 "service_notice": _OPT_STR,
                                                                 "account_id": _OPT_STR}}},
    "Open311PostForm": OPEN311_POST_FORM,
}
OPEN311_REPLIES = {
    "open311Discovery": "Open311Discovery", "open311Services": "Open311Services",
    "open311ServiceDefinition": "Open311ServiceDefinition", "open311PostRequest": "Open311Created",
    "open311GetRequests": "Open311Requests", "open311GetRequest": "Open311Requests",
}


def _models(routes: list[RouteSpec]) -> list[tuple[type[BaseModel], str]]:
    found: list[tuple[type[BaseModel], str]] = []
    for spec in routes:
        for model, mode in ((spec.body, "validation"), (spec.query, "validation"), (spec.reply, "serialization")):
            if isinstance(model, type) and issubclass(model, BaseModel) and (model, mode) not in found:
                found.append((model, mode))
    return found


def _query_parameters(model: type[BaseModel], schema: dict, defs: dict) -> list[dict]:
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    params = []
    for name, prop in schema.get("properties", {}).items():
        param = {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
        if "array" in json.dumps(prop):
            param.update(style="form", explode=True)
        if prop.get("description"):
            param["description"] = prop["description"]
        params.append(param)
    return params


def _operation(spec: RouteSpec, refs: dict, defs: dict) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": spec.operation_id, "summary": spec.summary, "tags": list(spec.tags)}
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "string", "enum": list(FORMATS)} if name == "format"
               else spec.path_params.get(name, {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"})}
              for name in _path_names(spec.path)]
    if spec.query is not None:
        params += _query_parameters(spec.query, refs[(spec.query, "validation")], defs)
    if spec.idempotent_key:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "description": "Retry-safe key: the same key returns the first answer.",
                       "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,64}$"}})
    if spec.csrf_header:
        params.append({"name": "X-Requested-With", "in": "header", "required": True,
                       "description": "Always `redprop`: a cross-site form cannot send it (CSRF).",
                       "schema": {"type": "string", "enum": ["redprop"]}})
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": refs[(spec.body, "validation")]}}}
    elif spec.upload:
        binary = {"type": "string", "format": "binary"}
        op["requestBody"] = {"required": True, "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": [spec.upload_field],
                                               "properties": {spec.upload_field: binary}}},
            **{media: {"schema": binary} for media in spec.upload}}}
    elif spec.form_body:
        form = {"$ref": "#/components/schemas/Open311PostForm"}
        op["requestBody"] = {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form},
                                                          "application/json": {"schema": form}}}
    if spec.open311:
        reply = {"$ref": f"#/components/schemas/{OPEN311_REPLIES[spec.operation_id]}"}
        content = {"application/json": {"schema": reply}, "text/xml": {"schema": {"type": "string"}}}
        error = {"description": "GeoReport error", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Open311Errors"}},
            "text/xml": {"schema": {"type": "string"}}}}
    else:
        reply = refs.get((spec.reply, "serialization"), {"type": "object"}) if spec.reply else {"type": "object"}
        content = ({"application/json": {"schema": reply}} if spec.media_type == "application/json"
                   else {spec.media_type: {"schema": {"type": "string"}}})
        if spec.reply_media:
            content = {media: {"schema": {"type": "string", "format": "binary"}} for media in spec.reply_media}
        error = {"description": "Error", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
    responses: dict[str, Any] = {str(spec.status): {"description": "OK", "content": content}}
    if spec.status == 204:
        responses = {"204": {"description": "Done; no content"}}
    elif spec.status == 302:  # a browser's navigation (the OIDC login): where to go next
        responses = {"302": {"description": "Redirect", "headers": {
            "Location": {"schema": {"type": "string"}, "description": "Where the browser goes next"}}}}
    codes = ["400", "404", "422", "503"] if not spec.open311 else ["400", "404", "503"]
    if spec.permission:
        codes += ["403"] if spec.open311 else ["401", "403"]  # GeoReport v2: a missing or bad api_key is 403
    if spec.method == "POST":
        codes += ["408", "409", "413"]  # a body too slow or too large (options.http)
    codes += [c for c in spec.extra_codes if c not in codes]
    for code in sorted(codes):
        responses[code] = error
    op["responses"] = responses
    if spec.permission:
        op["security"] = ([{"ApiKeyHeader": []}, {"BearerKey": []}, {"SessionCookie": []}]
                          + ([{"ApiKeyQuery": []}] if spec.open311 else []))
        op["x-redprop-roles"] = sorted(PERMISSIONS[spec.permission])
    else:
        op["security"] = []
    return op


def _non_blank(node: Any) -> None:
    """Request strings are stripped before their length is checked (``str_strip_whitespace``), so a
    ``minLength`` string must also have that many characters once stripped: say so with a pattern
    (JSON Schema patterns are unanchored, so ``\\S[\\s\\S]{n-2,}\\S`` reads "n or more, not blank at the ends")."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("minLength", 0) >= 1 and "pattern" not in node:
            n = node["minLength"]
            node["pattern"] = r"\S" if n == 1 else rf"\S[\s\S]{{{n - 2},}}\S"
        for value in node.values():
            _non_blank(value)
    elif isinstance(node, list):
        for value in node:
            _non_blank(value)


def _path_names(path: str) -> list[str]:
    import re

    return re.findall(r"\{([a-z_]+)\}", path)


@cache
def _document_json(service_cls: type) -> str:
    routes = routes_of(service_cls)
    refs, top = models_json_schema(_models(routes), ref_template=REF)
    defs = top.get("$defs", {})
    _non_blank(defs)
    paths: dict[str, dict] = {}
    for spec in routes:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, refs, defs)
    document = {
        "openapi": "3.1.0",
        "info": {"title": "redprop gateway", "version": VERSION, "description": DESCRIPTION,
                 "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
        "tags": [{"name": t} for t in dict.fromkeys(t for s in routes for t in s.tags)],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "BearerKey": {"type": "http", "scheme": "bearer", "description": "The API key as a bearer token."},
                "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key",
                                "description": "Open311 clients only."},
                "SessionCookie": {"type": "apiKey", "in": "cookie", "name": "redprop_session",
                                  "description": "A person's login session (POST /api/v1/session). A request "
                                                 "that changes something must also send "
                                                 "`X-Requested-With: redprop`."},
            },
            "schemas": {**dict(sorted(defs.items())), "Error": ERROR_SCHEMA, "Open311Errors": OPEN311_ERRORS,
                        **OPEN311_SCHEMAS},
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def openapi_document(service_cls: type) -> dict[str, Any]:
    """The OpenAPI document of the routes ``service_cls`` declares."""
    return json.loads(_document_json(service_cls))


def render_json(service_cls: type) -> str:
    return _document_json(service_cls)
