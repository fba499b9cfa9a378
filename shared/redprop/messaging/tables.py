"""Tables the messaging layer keeps in every service's own database.

They live beside the service's tables so that a change, its outgoing events (outbox), the reply to the
command that caused it (idempotency) and the events it has consumed (inbox) commit in one transaction.
Their migrations are the ``messaging`` branch in ``redprop/messaging/migrations``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from redprop.clock import utcnow
from redprop.db.base import UtcDateTime, new_metadata


class MessagingBase(DeclarativeBase):
    metadata = new_metadata()


class OutboxMessage(MessagingBase):
    """An event waiting to be published (``published_at`` is NULL) or already published."""

    __tablename__ = "redprop_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    exchange: Mapped[str] = mapped_column(String(255))
    routing_key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    headers: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        # The relay's only hot query: the oldest unpublished rows.
        Index("ix_redprop_outbox_pending", "id",
              postgresql_where=text("published_at IS NULL"), sqlite_where=text("published_at IS NULL")),
        Index("ix_redprop_outbox_published_at", "published_at"),
    )


class IdempotencyRecord(MessagingBase):
    """The first reply to a command, keyed by the client's request id."""

    __tablename__ = "redprop_idempotency"

    operation: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    reply: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class ProcessedEvent(MessagingBase):
    """An event a handler has already processed (at-least-once delivery made exactly-once)."""

    __tablename__ = "redprop_inbox"

    handler: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
