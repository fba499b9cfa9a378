"""gateway accounts, sessions and API keys

Revision ID: gateway_0001
Revises:
Create Date: 2026-12-02 14:55:00
"""
import sqlalchemy as sa
from alembic import op

import redprop.db.base

revision = 'gateway_0001'
down_revision = None
branch_labels = ('gateway',)
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('district', sa.String(length=6), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('district', 'username', name=op.f('pk_accounts'))
    )
    op.create_index('ix_accounts_person', 'accounts', ['district', 'person_id'], unique=False)
    op.create_table('sessions',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('district', sa.String(length=6), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_sessions'))
    )
    op.create_index('ix_sessions_username', 'sessions', ['district', 'username'], unique=False)
    op.create_table('api_keys',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('district', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', redprop.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', redprop.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('replaced_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_api_keys'))
    )
    op.create_index('ix_api_keys_name', 'api_keys', ['district', 'name'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_api_keys_name', table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_index('ix_sessions_username', table_name='sessions')
    op.drop_table('sessions')
    op.drop_index('ix_accounts_person', table_name='accounts')
    op.drop_table('accounts')
