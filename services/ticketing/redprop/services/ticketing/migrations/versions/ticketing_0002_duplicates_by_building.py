"""an index for the duplicate check by building

Intake compares a new ticket with the newest live tickets of the same building and category; without
this index PostgreSQL read every ticket of the district for it, and intake slowed as the table grew.

Revision ID: ticketing_0002
Revises: ticketing_0001
Create Date: 2026-11-23 16:55:00
"""
from alembic import op

revision = 'ticketing_0002'
down_revision = 'ticketing_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_building_category_time', ['building_id', 'category', 'submitted_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_building_category_time')
