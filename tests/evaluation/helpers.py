"""Broker helpers for the evaluation tests: capture and republish ticketing events by hand."""

from __future__ import annotations

from redprop.testing import events


def bind(settings, service: str = "ticketing"):
    return events.bind(settings, service)


def publish(settings, routing_key: str, body: dict | bytes, service: str = "ticketing") -> None:
    events.publish(settings, routing_key, body, service)


drain = events.drain
dead_letters = events.dead_letters
