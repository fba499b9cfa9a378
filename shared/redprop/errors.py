"""Typed domain errors that survive the RPC hop.

A service raises one of these; the caller, in any language, receives an error object with a stable
``code``, a human ``message`` and structured ``details`` (see docs/wire-protocol.md). Python callers get
the same exception type back, because each class is registered with nameko's deserialisation registry
and is built from exactly two positional arguments: ``(message, details)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nameko.exceptions import deserialize_to_instance


class RedpropError(Exception):
    """Base of every error a redprop service reports on purpose."""

    code: ClassVar[str] = "error"
    #: Whether trying the same message again may succeed (used when an event handler fails).
    retryable: ClassVar[bool] = True

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message, details or {})

    @property
    def message(self) -> str:
        return self.args[0]

    @property
    def details(self) -> dict[str, Any]:
        return self.args[1]

    def __str__(self) -> str:
        return self.message

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


@deserialize_to_instance
class ValidationFailed(RedpropError):
    """The request (or a row of an import) is invalid. ``details["fields"]`` names each bad field."""

    code = "validation_failed"
    retryable = False

    @property
    def fields(self) -> list[dict[str, Any]]:
        return self.details.get("fields", [])

    @classmethod
    def for_field(cls, field: str, message: str, type_: str = "invalid") -> ValidationFailed:
        return cls.for_fields([{"field": field, "message": message, "type": type_}])

    @classmethod
    def for_fields(cls, fields: list[dict[str, Any]]) -> ValidationFailed:
        names = ", ".join(f["field"] or "(body)" for f in fields)
        return cls(f"invalid request: {names}", {"fields": fields})

    @classmethod
    def from_pydantic(cls, exc: Any, prefix: str = "") -> ValidationFailed:
        """Turn a pydantic ``ValidationError`` into field errors with dotted paths."""
        fields = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(part) for part in err.get("loc", ()))
            field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
            fields.append({"field": field, "message": err["msg"], "type": err["type"]})
        return cls.for_fields(fields)


@deserialize_to_instance
class NotFound(RedpropError):
    """A referenced entity does not exist (in this district)."""

    code = "not_found"

    @classmethod
    def entity(cls, kind: str, id_: str, field: str | None = None) -> NotFound:
        details: dict[str, Any] = {"entity": kind, "id": id_}
        if field:
            details["field"] = field
        return cls(f"{kind} {id_!r} not found", details)


@deserialize_to_instance
class Conflict(RedpropError):
    """The request contradicts the current state (an illegal transition, a reused request id...)."""

    code = "conflict"
    retryable = False


@deserialize_to_instance
class PermissionDenied(RedpropError):
    """The caller may not do this."""

    code = "permission_denied"
    retryable = False


@deserialize_to_instance
class InternalError(RedpropError):
    """Something unexpected broke inside the service; ``details["reference"]`` finds it in the logs."""

    code = "internal_error"


@deserialize_to_instance
class Unavailable(RedpropError):
    """The target service did not answer in time, or does not exist on this broker."""

    code = "unavailable"


#: Every error code a caller can receive, for documentation and the AsyncAPI document.
ERROR_TYPES: tuple[type[RedpropError], ...] = (
    ValidationFailed, NotFound, Conflict, PermissionDenied, InternalError, Unavailable,
)


class ConfigError(Exception):
    """Settings or plugins are wrong: start-up stops with a message naming the setting."""


class PluginError(ConfigError):
    """A configured plugin is not installed or does not satisfy its interface."""
