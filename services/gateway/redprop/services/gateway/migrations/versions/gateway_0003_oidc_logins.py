"""gateway: OIDC logins under way (state, nonce and PKCE verifier of the authorisation-code flow)

Revision ID: gateway_0003_oidc_logins
Revises: gateway_0002_photos
Create Date: 2026-12-03 08:00:00
"""
import sqlalchemy as sa
from alembic import op

import redprop.db.base

revision = 'gateway_0003_oidc_logins'
down_revision = 'gateway_0002_photos'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oidc_logins',
    sa.Column('state_sha256', sa.String(length=64), nullable=False),
    sa.Column('district', sa.String(length=6), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('created_at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state_sha256', name=op.f('pk_oidc_logins'))
    )


def downgrade() -> None:
    op.drop_table('oidc_logins')
