"""HTTP bodies and query strings, derived from the contracts (so the gateway cannot drift from them).

A body model is the contract's request without the fields the gateway fills in itself (the ticket id
from the path, the actor from the API key, the request id from ``Idempotency-Key``). Validation here
only gives early, field-named 422s; the contract validates again when the request is sent.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model

from redprop.contracts import evaluation, mediation, ticketing
from redprop.contracts.base import MAX_OFFSET, Id, RequestId
from redprop.errors import ValidationFailed
from redprop.services.gateway.edge import json_depth_exceeds
from redprop.services.gateway.http import BadRequest
from redprop.services.gateway.options import HttpLimits


class HttpModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class QueryModel(BaseModel):
    """Query strings ignore parameters they do not know (``api_key``, cache busters...)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


#: Filled by the gateway from the request and its caller, never taken from the client (``viewer_id``: the caller,
#: whom mediation 2.4 masks case particulars for).
GATEWAY_FILLS = {"schema_version", "request_id", "ticket_id", "actor", "viewer", "viewer_id"}


def derive(name: str, request: type[BaseModel], *, exclude: set[str] = frozenset(), base: type = HttpModel,
           schema_extra: dict | None = None, **overrides: Any) -> type[BaseModel]:
    """``schema_extra``: what the OpenAPI document must add to say the rule a model validator of the
    contract enforces (which a derived model does not carry), so a schema-valid body is a valid one."""
    fields: dict[str, Any] = {}
    for field_name, info in request.model_fields.items():
        if field_name in GATEWAY_FILLS or field_name in exclude:
            continue
        fields[field_name] = overrides.pop(field_name, (info.annotation, info))
    fields.update(overrides)
    if schema_extra:
        base = type(f"{name}Base", (base,), {"model_config": ConfigDict(json_schema_extra=schema_extra)})
    return create_model(name, __base__=base, __doc__=request.__doc__, **fields)


def _require(*names: str):
    """json_schema_extra: these fields are required in the document, though the server lets some keys
    omit them (a resident's key stands for its own resident)."""
    def extra(schema: dict) -> None:
        schema["required"] = sorted({*schema.get("required", []), *names})
        for name in names:  # required means given: not null either
            prop = schema["properties"][name]
            given = [s for s in prop.pop("anyOf", []) if s.get("type") != "null"]
            prop.pop("default", None)
            prop.update(given[0] if given else {})
    return extra


def _also(*extras):
    def extra(schema: dict) -> None:
        for more in extras:
            more(schema) if callable(more) else schema.update(more)
    return extra


#: ticketing.SubmitRequest: "give exactly one location": exactly one of these present and not null.
ONE_LOCATION = {"oneOf": [{"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                          for name in ("building_id", "complex_id", "point")]}


# -- tickets -------------------------------------------------------------------------------------------

SubmitTicketBody = derive(
    "SubmitTicketBody", ticketing.SubmitRequest, exclude={"entered_by"},
    schema_extra=_also(ONE_LOCATION, _require("resident_id")),
    resident_id=(Id | None, Field(default=None, description="The resident the ticket is for: a worker key must "
                                                            "name one; a resident key may omit its own.")))

#: The ticket transitions served as ``POST /api/v1/tickets/{ticket_id}/<action>``: the permission, the
#: body, and the summary, which is the contract's (written once, in the contract).
TICKET_ACTIONS: dict[str, tuple[str, type[BaseModel], str]] = {
    name: (permission, derive(f"{name.title()}TicketBody", request), ticketing.CONTRACT.operations[name].summary)
    for name, permission, request in [
        ("rate", "tickets.rate", ticketing.RateRequest),
        ("reopen", "tickets.reopen", ticketing.ReopenRequest),
        ("cancel", "tickets.cancel", ticketing.CancelRequest),
        ("accept", "tickets.handle", ticketing.AcceptRequest),
        ("reject", "tickets.handle", ticketing.RejectRequest),
        ("note", "tickets.note", ticketing.NoteRequest),
        ("resolve", "tickets.handle", ticketing.ResolveRequest),
        ("dispatch", "tickets.manage", ticketing.DispatchRequest),
        ("transfer", "tickets.manage", ticketing.TransferRequest),
        ("close", "tickets.manage", ticketing.CloseRequest),
        ("escalate", "tickets.manage", ticketing.EscalateRequest),
        ("merge", "tickets.manage", ticketing.MergeRequest),
    ]
}

TicketListQuery = derive("TicketListQuery", ticketing.ListTicketsRequest, base=QueryModel)


class PageQuery(QueryModel):
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


# -- consultations -------------------------------------------------------------------------------------

BallotBody = derive(
    "BallotBody", mediation.CastBallotRequest, exclude={"consultation_id", "channel", "entered_by", "cast_at", "actor"},
    schema_extra=_require("owner_id"),
    owner_id=(Id | None, Field(default=None, description="The owner voting: a community admin entering a paper "
                                                         "ballot must name one; a resident key may omit its own.")))


LeagueQuery = derive("LeagueQuery", evaluation.LeagueTableRequest, base=QueryModel)


# -- reading requests ----------------------------------------------------------------------------------


def read_json(request) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest("the request needs a JSON body")
    limit = getattr(request, "limits", HttpLimits()).max_json_depth
    try:
        data = json.loads(raw)
        too_deep = json_depth_exceeds(data, limit)
    except RecursionError:  # deeper than the interpreter itself can parse: never a 500
        too_deep = True
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if too_deep:
        raise BadRequest(f"the JSON body nests deeper than {limit} levels", {"max_depth": limit})
    return data


def parse(model: type[BaseModel], data: Any, prefix: str = "") -> BaseModel:
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc, prefix) from None


def read_body(request, model: type[BaseModel]) -> BaseModel:
    return parse(model, read_json(request))


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(get_origin(arg) is list for arg in get_args(annotation))


def read_query(request, model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in request.args:
            continue
        if _is_list(info.annotation):
            # ?status=a&status=b or ?status=a,b
            data[name] = [part for value in request.args.getlist(name) for part in value.split(",") if part]
        else:
            data[name] = request.args.get(name)
    return parse(model, data)


def idempotency_key(request) -> str | None:
    """The client's ``Idempotency-Key`` (a retry with the same key changes nothing twice); None: a new one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    try:
        return _REQUEST_ID.model_validate({"request_id": key}).request_id
    except ValidationError:
        raise ValidationFailed.for_field("Idempotency-Key", "8-64 characters of A-Za-z0-9._:-", "pattern") from None


class _RequestIdHolder(BaseModel):
    request_id: RequestId


_REQUEST_ID = _RequestIdHolder


# -- login -------------------------------------------------------------------------------------------


class LoginBody(HttpModel):
    """A person's username and password (an account made with ``redprop gateway accounts add``)."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionPost(HttpModel):
    role: str
    organisation_id: str | None = None
    scope_id: str | None = None


class SessionReply(HttpModel):
    """Who is logged in: the registry person, their posts today, and what the gateway lets them do."""

    person_id: str | None
    name: str
    #: The kinds of the person's registry posts (``RoleKind``), e.g. ``["community_worker"]``.
    roles: list[str]
    #: The posts in full: where and for which organisation.
    posts: list[SessionPost]
    #: The gateway role the posts give (the ``x-redprop-roles`` of each operation).
    role: str
    #: Whom commands are sent as (the person, or the company/department a handler acts for).
    subject: str
    district: str
    expires_at: str | None = None


# -- login methods ------------------------------------------------------------------------------------


class OidcMethod(HttpModel):
    #: The button's label ("Log in with <display_name>"); None: the app's own wording.
    display_name: str | None
    #: Where the button goes: the gateway starts the login at the identity provider.
    login_url: str


class SessionMethods(HttpModel):
    """How a person may log in here: always with an account's password; with the identity provider when
    ``oidc.client_id`` is configured."""

    password: bool
    oidc: OidcMethod | None


class OidcCallbackQuery(QueryModel):
    """What the identity provider sends back (it may add more, e.g. ``iss`` or ``session_state``)."""

    code: Annotated[str, StringConstraints(max_length=2048)] | None = None
    state: Annotated[str, StringConstraints(max_length=256)] | None = None
    #: The provider refused or the person cancelled (``access_denied``, RFC 6749 4.1.2.1).
    error: Annotated[str, StringConstraints(max_length=256)] | None = None
