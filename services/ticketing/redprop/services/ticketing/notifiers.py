"""Extension point ``ticketing.notifiers``: tell people what happened to a ticket.

Several notifiers may be chosen (``plugins: {"ticketing.notifiers": ["log", "webhook"]}``). A notifier
runs after the change is committed, and a failing one never undoes the change or blocks the reply.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass

from redprop.plugins import ExtensionPoint
from redprop.services.ticketing.options import TicketingOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    ticket_id: str
    event: str          # dispatched, escalated, resolved, breached...
    recipients: tuple[str, ...]  # "resident:P1", "handler:property_company:CO1"...
    text: str
    district: str


class Notifier(ABC):
    def __init__(self, options: TicketingOptions):
        self.options = options

    @abstractmethod
    def send(self, notice: Notice) -> None: ...


class LogNotifier(Notifier):
    def send(self, notice: Notice) -> None:
        # The text quotes what residents and handlers wrote (descriptions, summaries, reasons): DEBUG only.
        log.info("notify %s about ticket %s (%s)", ", ".join(notice.recipients), notice.ticket_id, notice.event)
        log.debug("notice text for ticket %s: %s", notice.ticket_id, notice.text)


class WebhookNotifier(Notifier):
    """POSTs each notice as JSON to ``services.ticketing.options.webhook_url``."""

    def send(self, notice: Notice) -> None:
        if self.options.webhook_url is None:
            log.warning("webhook notifier chosen but services.ticketing.options.webhook_url is not set")
            return
        body = json.dumps(notice.__dict__, ensure_ascii=False).encode()
        request = urllib.request.Request(str(self.options.webhook_url), data=body, method="POST",
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.options.webhook_timeout) as response:
            response.read()


NOTIFIERS = ExtensionPoint(key="ticketing.notifiers", group="redprop.ticketing.notifiers", interface=Notifier,
                           default="log", summary="Where notices about tickets go (several allowed).",
                           many=True, takes_options=True)
