"""households: the area's source (Interpretation Art. 8) and the developer's unsold parts (Art. 9)

Revision ID: registry_0003
Revises: registry_0002
Create Date: 2026-12-02 14:49:17.445713
"""
import sqlalchemy as sa
from alembic import op

revision = 'registry_0003'
down_revision = 'registry_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_source', sa.String(length=8), server_default='register', nullable=False))
        batch_op.add_column(sa.Column('register_area_m2', sa.Numeric(precision=10, scale=2), nullable=True))
        batch_op.add_column(sa.Column('survey_area_m2', sa.Numeric(precision=10, scale=2), nullable=True))
        batch_op.add_column(sa.Column('contract_area_m2', sa.Numeric(precision=10, scale=2), nullable=True))
        batch_op.add_column(sa.Column('developer_unsold', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_column('developer_unsold')
        batch_op.drop_column('contract_area_m2')
        batch_op.drop_column('survey_area_m2')
        batch_op.drop_column('register_area_m2')
        batch_op.drop_column('area_source')

