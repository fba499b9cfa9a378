"""Log set-up: one line per record, as text (the logger's name and message) or as one JSON object.

``log_format: json`` (env ``REDPROP_LOG_FORMAT=json``) writes each record as a JSON object on one line,
for a log collector: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, and where known the
``service``, ``entrypoint``, ``call_id`` (nameko's, the same across the services a call passes through),
``ticket_id`` or ``matter_id`` of the request, and the ``district``; ``exception`` holds a traceback.

The worker's fields come from a context variable set when a worker starts (:func:`bind_worker`, called by
the metrics dependency that every service has); eventlet's green threads each have their own context,
so concurrent workers never see each other's fields.

Residents' free text (descriptions, names, phone numbers, notes) is never logged at INFO or above: log
ids, codes and counts; what a person wrote goes to DEBUG at most. Every handler made here also masks
phone and ID-card numbers in each line above DEBUG (:class:`~redprop.privacy.redaction.PersonalDataFilter`).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType

from redprop.privacy.redaction import PersonalDataFilter

#: Request fields that identify the matter a worker is about, logged as they are named.
ID_FIELDS = ("ticket_id", "matter_id")
#: The fields a JSON line carries from the worker's context, in this order.
CONTEXT_FIELDS = ("service", "entrypoint", "call_id", *ID_FIELDS, "district")

#: An immutable mapping per thread: each bind() sets a new one, so nothing is shared by mistake.
_context: ContextVar[MappingProxyType] = ContextVar("redprop_log_context", default=MappingProxyType({}))


def bind(**fields: str | None) -> Token:
    """Add fields to this green thread's log context (None values are left out); returns a token for
    :func:`unbind`."""
    added = {k: str(v) for k, v in fields.items() if v is not None}
    return _context.set(MappingProxyType({**_context.get(), **added}))


def unbind(token: Token) -> None:
    _context.reset(token)


def current() -> dict[str, str]:
    return dict(_context.get())


def bind_worker(worker_ctx, district: str | None = None) -> Token:
    """The worker's service, entrypoint, call id, district and the ticket or matter its request names."""
    fields = {"service": worker_ctx.service_name, "entrypoint": worker_ctx.entrypoint.method_name,
              "call_id": worker_ctx.call_id, "district": district}
    for arg in worker_ctx.args or ():
        for name in ID_FIELDS:
            value = getattr(arg, name, None)
            if value is None and name == "ticket_id":  # ticketing's events carry the ticket's facts
                value = getattr(getattr(arg, "ticket", None), "ticket_id", None)
            if isinstance(value, str | int) and name not in fields:
                fields[name] = value
    return bind(**fields)


class ContextFilter(logging.Filter):
    """Puts the worker's context on each record (``record.redprop``) as it is logged, in its own thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.redprop = _context.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; non-ASCII kept as is (Chinese logger messages stay readable)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = getattr(record, "redprop", None) or {}
        entry.update((k, context[k]) for k in CONTEXT_FIELDS if k in context)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class ExpectedErrorFilter(logging.Filter):
    """nameko logs every *expected* error (a typed domain error the caller receives) as a warning with
    a traceback. Those are answers, not faults: they are counted in the metrics by outcome, so the log
    keeps one line without the traceback, at DEBUG only."""

    def __init__(self, verbose: bool):
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "nameko.containers" and str(record.msg).startswith("(expected)"):
            record.exc_info = None
            record.exc_text = None
            return self.verbose
        return True


def make_handler(level: str = "INFO", fmt: str = "text", stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(ContextFilter())
    handler.addFilter(ExpectedErrorFilter(verbose=level == "DEBUG"))
    # Phone and ID-card numbers are masked in every line above DEBUG, whoever logged them (PIPL).
    handler.addFilter(PersonalDataFilter())
    return handler


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    root = logging.getLogger()
    root.handlers[:] = [make_handler(level, fmt)]
    root.setLevel(level)
    # nameko and kombu are chatty at INFO about every connection; keep their warnings.
    for noisy in ("nameko", "kombu", "amqp", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
