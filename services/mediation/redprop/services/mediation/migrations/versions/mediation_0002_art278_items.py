"""consultations typed by Civil Code Art. 278 item; voters and ballots by voting person (SPC interpretation
Art. 9), the area's source (Art. 8), paper ballots' witnesses

Revision ID: mediation_0002
Revises: mediation_0001
Create Date: 2026-12-02 14:55:43.341764
"""
import sqlalchemy as sa
from alembic import op

revision = 'mediation_0002'
down_revision = 'mediation_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('witness_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('person_id', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_ballots_person', ['district', 'consultation_id', 'person_id'], unique=False)

    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complex_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('art278_item', sa.Integer(), nullable=True))

    with op.batch_alter_table('voters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('area_source', sa.String(length=8), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('voters', schema=None) as batch_op:
        batch_op.drop_column('area_source')
        batch_op.drop_column('person_id')

    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_column('art278_item')
        batch_op.drop_column('complex_id')

    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.drop_index('ix_ballots_person')
        batch_op.drop_column('person_id')
        batch_op.drop_column('witness_id')

