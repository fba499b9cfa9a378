"""messaging tables: outbox, idempotency records, inbox

Revision ID: messaging_0001
Revises:
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import redprop.db.base

revision = "messaging_0001"
down_revision = None
branch_labels = ("messaging",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "redprop_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("exchange", sa.String(length=255), nullable=False),
        sa.Column("routing_key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("created_at", redprop.db.base.UtcDateTime(), nullable=False),
        sa.Column("published_at", redprop.db.base.UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redprop_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_redprop_outbox_event_id")),
    )
    op.create_index("ix_redprop_outbox_pending", "redprop_outbox", ["id"],
                    postgresql_where=sa.text("published_at IS NULL"),
                    sqlite_where=sa.text("published_at IS NULL"))
    op.create_index("ix_redprop_outbox_published_at", "redprop_outbox", ["published_at"])
    op.create_table(
        "redprop_idempotency",
        sa.Column("operation", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("created_at", redprop.db.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operation", "request_id", name=op.f("pk_redprop_idempotency")),
    )
    op.create_index(op.f("ix_redprop_idempotency_created_at"), "redprop_idempotency", ["created_at"])
    op.create_table(
        "redprop_inbox",
        sa.Column("handler", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("processed_at", redprop.db.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("handler", "event_id", name=op.f("pk_redprop_inbox")),
    )
    op.create_index(op.f("ix_redprop_inbox_processed_at"), "redprop_inbox", ["processed_at"])


def downgrade() -> None:
    op.drop_table("redprop_inbox")
    op.drop_table("redprop_idempotency")
    op.drop_table("redprop_outbox")
