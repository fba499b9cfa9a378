"""longer ledger sources: a meeting's or a vote's source names two ids of up to 64 characters

Revision ID: participation_0002
Revises: participation_0001
Create Date: 2026-12-03 06:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'participation_0002'
down_revision = 'participation_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "mediation:meeting:<meeting id>:<person id>" is up to 147 characters (ids are up to 64), and a
    # second award of a fact adds "#<n>": 120 refused the longest on PostgreSQL.
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sa.String(length=120), type_=sa.String(length=200),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sa.String(length=200), type_=sa.String(length=120),
                              existing_nullable=False)
