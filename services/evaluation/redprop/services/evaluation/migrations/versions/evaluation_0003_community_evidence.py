"""evaluation community evidence: a company's staff turns, paired-unit tasks and project milestones
(from participation and projects) as evidence for the rubric's team-building and social-image items

Revision ID: evaluation_0003_community
Revises: evaluation_0002
Create Date: 2026-12-02 20:05:00
"""
import sqlalchemy as sa
from alembic import op

import redprop.db.base

revision = 'evaluation_0003_community'
down_revision = 'evaluation_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('community_evidence',
    sa.Column('district', sa.String(length=6), nullable=False),
    sa.Column('source', sa.String(length=160), nullable=False),
    sa.Column('company_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=6), nullable=False),
    sa.Column('ref_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('hours', sa.String(length=16), nullable=False),
    sa.Column('at', redprop.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('district', 'source', name=op.f('pk_community_evidence'))
    )
    with op.batch_alter_table('community_evidence', schema=None) as batch_op:
        batch_op.create_index('ix_community_evidence_company', ['district', 'company_id', 'period'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('community_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_community_evidence_company')
    op.drop_table('community_evidence')
