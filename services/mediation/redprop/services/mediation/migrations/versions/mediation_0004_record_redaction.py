"""record log format 2: the hash covers the payload's SHA-256, so an erased person's text can be redacted

Revision ID: mediation_0004
Revises: mediation_0003
Create Date: 2026-12-02 20:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'mediation_0004'
down_revision = 'mediation_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Records already logged keep format 1 (payload_sha256 NULL): their hashes cover the payload itself.
    with op.batch_alter_table('log_records') as batch:
        batch.add_column(sa.Column('payload_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('redacted_at', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('log_records') as batch:
        batch.drop_column('redacted_at')
        batch.drop_column('payload_sha256')
