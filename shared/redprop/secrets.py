"""Keeping credentials out of everything the suite prints: command output, logs and error messages.

URLs are masked where they are shown (:func:`redact_url`); as a second line of defence, the
passwords of the effective settings are replaced wherever they still appear in a log record
(:func:`install_log_redaction`) or in an error message (:func:`redact`).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

MASK = "***"

#: Query parameters that carry a password (libpq accepts ``?password=``).
_SECRET_PARAMS = {"password", "passwd", "pwd"}


def _alternatives(url: str) -> list[str] | None:
    """The URLs of a ``;``-separated failover list (``amqp://a...;amqp://b...``), else None."""
    parts = url.split(";")
    return parts if len(parts) > 1 and all("://" in p for p in parts if p.strip()) else None


def redact_url(url: str | None) -> str | None:
    """The URL with its password (and any ``password=`` query parameter) replaced by ``***``; each URL
    of a ``;``-separated failover list (several broker addresses) likewise."""
    if not url:
        return url
    alternatives = _alternatives(url)
    if alternatives:
        return ";".join(redact_url(p) or "" for p in alternatives)
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:  # not a URL we can take apart: show nothing of it rather than a secret
        return MASK
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
            query = urlencode([(k, MASK if k.lower() in _SECRET_PARAMS else v) for k, v in pairs], safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing to hide (geturl() would also drop the empty host of sqlite:////path)
    return parts._replace(netloc=netloc, query=query).geturl()


def passwords_in(urls: Iterable[str | None]) -> set[str]:
    """The passwords the URLs carry, as written and percent-decoded."""
    found: set[str] = set()
    urls = [part for url in urls if url for part in (_alternatives(url) or [url])]
    for url in urls:
        if not url:
            continue
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        userinfo, at, _ = parts.netloc.rpartition("@")
        if at and ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key.lower() in _SECRET_PARAMS:
                found.add(value)
    found |= {unquote(p) for p in found}
    # A one- or two-character "password" would mask half of every line; such a password is no secret.
    return {p for p in found if len(p) >= 3}


def settings_passwords(settings) -> set[str]:
    urls = [settings.amqp_uri] + [s.database_url for s in settings.services.values()]
    return passwords_in(urls)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):  # longest first: one may contain another
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Replaces the given secrets in a record's message and traceback before any handler formats it."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = set(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def install_log_redaction(settings) -> None:
    """Mask the settings' passwords in every record that reaches the root logger's handlers."""
    secrets = settings_passwords(settings)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(secrets))


def install_excepthook(secrets: Iterable[str]) -> None:
    """An unexpected crash still prints its traceback, with the settings' passwords masked in it."""
    secrets = set(secrets)

    def hook(kind, value, tb):
        sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb)), secrets))

    sys.excepthook = hook
