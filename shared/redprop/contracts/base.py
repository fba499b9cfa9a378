"""Conventions every cross-service message follows.

- Ids are short opaque strings (letters, digits, ``._:-``); districts use GB/T 2260 six-digit codes.
- Every record and event carries its ``district``.
- Timestamps are timezone-aware (naive datetimes are rejected).
- Replies and events carry ``schema_version`` (the contract's major version). A request may send it;
  a request for another major version is rejected rather than misread.
- Requests reject unknown fields (typos surface as errors); replies and events ignore them, so an
  older client keeps working when a minor version adds a field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from redprop.clock import new_id, utcnow

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
DistrictCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{8,64}$")]
Timestamp = AwareDatetime
#: A calendar month, "2026-05". The year is bounded like evaluation's quarters (20xx) and the digits are
#: ASCII: ``\\d`` would take "0000" (no such date: a 500 further on) and other scripts' digits.
Month = Annotated[str, StringConstraints(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
#: An event's id is the primary key of every consumer's inbox and unique in the outbox: String(64) there
#: (messaging/tables.py), so a longer one is refused at the edge, not retried and dead-lettered later.
EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
#: A count stored in an SQL INTEGER column (32-bit signed on PostgreSQL).
Count = Annotated[int, Field(ge=0, le=2_147_483_647)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=10_000)]


class Contract(BaseModel):
    """Base of every model that crosses a service boundary."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Request(Contract):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    #: The major contract version the caller speaks; absent means "current".
    schema_version: int | None = None


class CommandRequest(Request):
    """A command changes state; its ``request_id`` makes retries safe (same id -> same reply)."""

    request_id: RequestId = Field(description="Client-chosen idempotency key, 8-64 chars; reuse it only to retry.")


class Reply(Contract):
    schema_version: int = 1


class Record(Contract):
    """A stored entity as it crosses the wire."""

    district: DistrictCode


class Event(Contract):
    """A fact, published after the change is committed (transactional outbox)."""

    #: Routing key, ``<service>.<fact>``; set by each subclass.
    event_type: ClassVar[str] = ""

    event_id: EventId = Field(default_factory=new_id, description="Unique per fact; consumers dedupe on it.")
    occurred_at: Timestamp = Field(default_factory=utcnow)
    district: DistrictCode
    schema_version: int = 1


class GeoPoint(Contract):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


MAX_OFFSET = 2**31 - 1


class Page(Request):
    """Paging for list queries."""

    limit: int = Field(default=100, ge=1, le=5000)
    #: Bounded so that every database takes it as an OFFSET (an unbounded int overflowed as a 502).
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class ExactlyOne(Request):
    """Mixin check: exactly one of ``one_of`` fields must be given (list it first among the bases)."""

    one_of: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [name for name in self.one_of if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of: {', '.join(self.one_of)}")
        return self


# -- operations and service contracts -----------------------------------------------------------

OperationKind = Literal["query", "command"]


@dataclass(frozen=True)
class Permit:
    """Who may call an operation: checked in the worker against the registry, before the operation runs.

    - ``Permit.public(rule)``: anyone (reads of what is public anyway: the map, a league table).
    - ``Permit.person(rule, actor=...)``: any person the registry knows (a resident reports a problem).
    - ``Permit.holding(*roles, rule=..., actor=..., within=...)``: a person holding one of ``roles`` today;
      with ``within``, the post must cover the entity that request field names (the post's scope, or its
      organisation's scope, is that entity or one of its ancestors in the governance map).

    ``actor`` and ``within`` are dotted paths into the request (``"actor"``, ``"actor.person_id"``).
    Record-level rules (a resident sees their own ticket, a company never rates itself) stay with the
    service that owns the record; ``rule`` says in one line what the permit and those rules ask.
    """

    rule: str
    actor: str | None = None
    roles: tuple[str, ...] = ()
    within: str | None = None

    @classmethod
    def public(cls, rule: str = "anyone") -> Permit:
        return cls(rule=rule)

    @classmethod
    def person(cls, rule: str, actor: str = "actor") -> Permit:
        return cls(rule=rule, actor=actor)

    @classmethod
    def holding(cls, *roles: str, rule: str, actor: str = "actor", within: str | None = None) -> Permit:
        if not roles:
            raise ValueError("Permit.holding needs at least one role")
        return cls(rule=rule, actor=actor, roles=tuple(roles), within=within)

    @property
    def is_public(self) -> bool:
        return self.actor is None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule}
        if self.actor:
            out["actor"] = self.actor
        if self.roles:
            out["roles"] = list(self.roles)
        if self.within:
            out["within"] = self.within
        return out


PUBLIC = Permit.public()


@dataclass(frozen=True)
class Operation:
    """One RPC operation of a service.

    A *query* reads: its request and reply are transient (not persisted, no publisher confirm), so it
    costs one round trip. A *command* changes state: its request is persistent and confirmed, it needs a
    ``request_id``, and a retry returns the first reply.
    """

    name: str
    kind: OperationKind
    request: type[Request]
    reply: type[Reply]
    summary: str
    permit: Permit = PUBLIC

    @property
    def persistent(self) -> bool:
        return self.kind == "command"


@dataclass
class ServiceContract:
    """What a service offers: its operations and the events it publishes."""

    service: str
    version: str
    summary: str
    operations: dict[str, Operation] = field(default_factory=dict)
    events: dict[str, type[Event]] = field(default_factory=dict)

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def query(self, name: str, request: type[Request], reply: type[Reply], summary: str,
              permit: Permit = PUBLIC) -> Operation:
        return self._add(Operation(name, "query", request, reply, summary, permit))

    def command(self, name: str, request: type[CommandRequest], reply: type[Reply], summary: str,
                permit: Permit | None = None) -> Operation:
        """A command changes state, so someone answers for it: its permit names the acting person."""
        if not issubclass(request, CommandRequest):
            raise TypeError(f"{self.service}.{name}: a command's request must derive from CommandRequest")
        permit = permit or PUBLIC  # transitional: every command gets a permit naming its actor (issue 15)
        return self._add(Operation(name, "command", request, reply, summary, permit))

    def event(self, event: type[Event]) -> type[Event]:
        if not event.event_type.startswith(self.service + "."):
            raise TypeError(f"event type {event.event_type!r} must start with {self.service!r}.")
        self.events[event.event_type] = event
        return event

    def _add(self, op: Operation) -> Operation:
        if op.name in self.operations:
            raise ValueError(f"{self.service}.{op.name} declared twice")
        self.operations[op.name] = op
        return op

    def describe(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "version": self.version,
            "operations": {n: {"kind": o.kind, "summary": o.summary, "permit": o.permit.describe()}
                           for n, o in self.operations.items()},
            "events": sorted(self.events),
        }
