"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the ticketing contract.

services        = the ticket catalogue (categories); every service takes the same attributes
requests        = tickets; redprop's open statuses map to ``open``, the rest to ``closed``
status_notes    = the latest note, summary or reason in the ticket's history
agency_responsible = the unit holding the ticket
expected_datetime  = the ticket's resolution deadline (its SLA)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from redprop.contracts.base import Id
from redprop.contracts.ticketing import OPEN_STATUSES, Category, Ticket
from redprop.errors import PermissionDenied, ValidationFailed
from redprop.services.gateway import addresses
from redprop.services.gateway.auth import Principal, reporter_fields

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-01-01T00:00:00Z"

#: The attributes every service accepts (GeoReport ``attribute[code]``).
ATTRIBUTES: list[dict[str, Any]] = [
    {"variable": True, "code": "building_id", "datatype": "string", "required": False, "order": 1,
     "datatype_description": "A building id of the district's registry",
     "description": "Building (楼栋): the most precise location; else address_id, complex_id or lat/long."},
    {"variable": True, "code": "complex_id", "datatype": "string", "required": False, "order": 2,
     "datatype_description": "A complex id of the district's registry",
     "description": "Residential complex (小区), when the problem is not in one building."},
    {"variable": True, "code": "urgency", "datatype": "singlevaluelist", "required": False, "order": 3,
     "datatype_description": None, "description": "How urgent it is (emergency: risk to life or property).",
     "values": [{"key": "normal", "name": "普通 normal"}, {"key": "urgent", "name": "紧急 urgent"},
                {"key": "emergency", "name": "危急 emergency"}]},
]


def discovery(base_url: str, contact: str, key_service: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [{"specification": SPECIFICATION, "url": f"{base_url}/open311/v2", "changeset": CHANGESET,
                       "type": "production", "formats": ["application/json", "text/xml"]}],
    }


def service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name_zh,
        "description": f"{category.name_en} (SLA class {category.sla_class})",
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(filter(None, [category.name_en, category.sla_class, category.handler_kind])),
        "group": category.handler_kind,
    }


def service_definition(category: Category) -> dict[str, Any]:
    return {"service_code": category.code, "attributes": ATTRIBUTES}


# -- POST requests ---------------------------------------------------------------------------------


class PostedRequest(BaseModel):
    """The GeoReport v2 POST parameters the gateway uses (others are accepted and ignored)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    service_code: str = Field(min_length=1, max_length=40)
    description: str | None = Field(default=None, max_length=10_000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_id: Id | None = None
    address_string: str | None = Field(default=None, max_length=500)
    account_id: Id | None = None
    email: str | None = Field(default=None, max_length=254)
    device_id: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    media_url: str | None = Field(default=None, max_length=2000)
    jurisdiction_id: str | None = Field(default=None, max_length=64)
    attribute: dict[str, str] = Field(default_factory=dict)


def sent(value: Any) -> bool:
    """An optional argument sent empty is the same as one not sent (form fields arrive as "")."""
    return not (value is None or isinstance(value, str) and not value.strip())


def read_posted(form: dict[str, Any]) -> PostedRequest:
    data: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    known = {a["code"] for a in ATTRIBUTES}  # attributes no service defines are ignored, like other fields
    for key, value in form.items():
        if not sent(value):
            continue
        if key.startswith("attribute[") and key.endswith("]"):
            if key[len("attribute["):-1] in known:
                attributes[key[len("attribute["):-1]] = value
        elif key in PostedRequest.model_fields:
            data[key] = value
    if isinstance(data.get("attribute"), dict):  # JSON bodies may nest them
        attributes.update({k: v for k, v in data.pop("attribute").items() if k in known and sent(v)})
    data["attribute"] = attributes
    try:
        return PostedRequest.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from None


def submit_fields(posted: PostedRequest, principal: Principal, public_reporter_id: str | None,
                  registry=None, service_name: str | None = None) -> dict[str, Any]:
    """The ticketing.submit fields for a GeoReport POST by ``principal``.

    A resident key reports as its resident. Any other key reports for ``account_id`` (a person of the
    registry), else for the district's configured public reporter (reports from anonymous apps).
    The location is the most precise given: a building, a complex, a point, else ``address_string``
    matched against the registry (the spec: "either lat & long or address_string or address_id").
    """
    # GeoReport's description is optional; the ticket needs one: the service's name stands in.
    fields: dict[str, Any] = {"category": posted.service_code,
                              "description": posted.description or service_name or posted.service_code}
    building = posted.attribute.get("building_id") or posted.address_id
    if building:
        fields["building_id"] = building
    elif posted.attribute.get("complex_id"):
        fields["complex_id"] = posted.attribute["complex_id"]
    elif posted.lat is not None and posted.long is not None:
        fields["point"] = {"lat": posted.lat, "lon": posted.long}
    elif posted.address_string and registry is not None:
        fields.update(addresses.match(registry, posted.address_string))
    else:
        raise ValidationFailed.for_field(
            "lat", "give lat and long, address_string, address_id, or attribute[building_id]", "missing")
    if posted.attribute.get("urgency"):
        fields["urgency"] = posted.attribute["urgency"]
    if posted.media_url:
        fields["media_urls"] = [posted.media_url]
    reporter = reporter_fields(principal, posted.account_id, "account_id", default=public_reporter_id)
    if reporter is None:
        # A well-formed report this key may not file: anonymous reports are off in this district.
        raise PermissionDenied("this district takes no anonymous reports (no open311.public_reporter_id): "
                               "name the reporter with account_id (a person id of the registry)",
                               {"field": "account_id"})
    fields.update(reporter)
    return fields


# -- GET requests ----------------------------------------------------------------------------------


class RequestsQuery(BaseModel):
    """GET Service Requests. ``service_request_id``, ``service_code`` and ``status`` take comma-delimited
    lists (and may be repeated); an argument sent empty is not sent."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    service_request_id: str | None = Field(default=None, max_length=2000)
    service_code: str | None = Field(default=None, max_length=2000)
    start_date: datetime | None = None
    end_date: datetime | None = None
    status: str | None = Field(default=None, max_length=100,
                               pattern=r"^(\s*(open|closed)?\s*)(,\s*(open|closed)?\s*)*$")
    jurisdiction_id: str | None = Field(default=None, max_length=64)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        return value if sent(value) else None

    @field_validator("start_date", "end_date")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str | None) -> str | None:
        if value is not None and not set(split(value)) <= {"open", "closed"}:
            raise ValueError("status is open, closed, or open,closed")
        return value

    def ids(self) -> list[str]:
        return split(self.service_request_id)[:200]

    def service_codes(self) -> list[str]:
        return split(self.service_code)

    def window(self, default_days: int, now: datetime) -> tuple[datetime, datetime]:
        """The requested_datetime range; a start after the end is an empty range (nothing matches)."""
        end = self.end_date or max(now, self.start_date or now)
        earliest = datetime.min.replace(tzinfo=UTC)
        start = self.start_date or (end - timedelta(days=default_days) if end - earliest > timedelta(
            days=default_days) else earliest)
        return start, end

    def redprop_statuses(self) -> list[str] | None:
        if not self.status or set(split(self.status)) == {"open", "closed"}:
            return None
        return list(OPEN_STATUSES) if "open" in split(self.status) else list(CLOSED_STATUSES)


def split(value: str | None) -> list[str]:
    """A comma-delimited list, without blanks or repeats, in the order given."""
    return list(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))


CLOSED_STATUSES: tuple[str, ...] = ("resolved", "closed", "cancelled")
Open311Status = Literal["open", "closed"]


def open311_status(status: str) -> Open311Status:
    return "open" if status in OPEN_STATUSES else "closed"


NOTE_KEYS = ("summary", "note", "reason", "comment")
STATUS_PHRASES = {
    "submitted": "Received; waiting to be dispatched.",
    "dispatched": "Dispatched; waiting for the handler to accept.",
    "in_progress": "Being handled.",
    "awaiting_resident": "Waiting for the resident.",
    "resolved": "Resolved; waiting for the resident's confirmation.",
    "closed": "Closed.",
    "cancelled": "Cancelled.",
}


def status_notes(ticket: Ticket) -> str:
    for entry in reversed(ticket.history):
        for key in NOTE_KEYS:
            text = entry.detail.get(key)
            if isinstance(text, str) and text.strip():
                return f"{entry.action}: {text.strip()}"
    return STATUS_PHRASES.get(ticket.status, ticket.status)


def to_request(ticket: Ticket, categories: dict[str, Category], address: str | None = None,
               photo_url: str | None = None) -> dict[str, Any]:
    """``photo_url``: the first photo uploaded to the gateway, when the ticket was submitted without a URL."""
    category = categories.get(ticket.category)
    handler = ticket.handler
    updated = max([ticket.submitted_at, *(h.at for h in ticket.history)])
    point = ticket.location.point
    return {
        "service_request_id": ticket.id,
        "status": open311_status(ticket.status),
        "status_notes": status_notes(ticket),
        "service_name": category.name_zh if category else ticket.category,
        "service_code": ticket.category,
        "description": ticket.description,
        "agency_responsible": (handler.name or f"{handler.kind} {handler.id}") if handler else None,
        "service_notice": (f"Response due {ticket.response_due_at.isoformat()}; resolution due "
                           f"{ticket.resolution_due_at.isoformat()} (SLA class {ticket.sla_class}, "
                           f"{ticket.level} level)."),
        "requested_datetime": ticket.submitted_at.isoformat(),
        "updated_datetime": updated.isoformat(),
        "expected_datetime": ticket.resolution_due_at.isoformat(),
        "address": address,
        "address_id": ticket.location.building_id,
        "zipcode": None,
        "lat": point.lat if point else None,
        "long": point.lon if point else None,
        "media_url": ticket.media_urls[0] if ticket.media_urls else photo_url,
    }
