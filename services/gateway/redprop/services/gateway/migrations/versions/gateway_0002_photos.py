"""gateway: photos on tickets (metadata; the bytes are the photo store's)

Revision ID: gateway_0002_photos
Revises: gateway_0001
Create Date: 2026-12-02 19:50:00
"""
import sqlalchemy as sa
from alembic import op

import redprop.db.base

revision = 'gateway_0002_photos'
down_revision = 'gateway_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photos',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=6), nullable=False),
    sa.Column('ticket_id', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploader_role', sa.String(length=40), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('uploaded_at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photos'))
    )
    op.create_index('ix_photos_ticket', 'photos', ['district', 'ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_photos_ticket', table_name='photos')
    op.drop_table('photos')
