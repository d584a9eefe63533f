"""in-policy assessments: the §7.2.1 activities (event monitoring, staff training) recorded for an
insured organisation's subject, which the due list counts as done (an off-chain record)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_activities',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=66), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('activity', sa.String(length=30), nullable=False),
    sa.Column('performed_at', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_assessment_activities_tenant_id'), 'assessment_activities', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_assessment_activities_subject'), 'assessment_activities', ['subject'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_assessment_activities_subject'), table_name='assessment_activities')
    op.drop_index(op.f('ix_assessment_activities_tenant_id'), table_name='assessment_activities')
    op.drop_table('assessment_activities')
