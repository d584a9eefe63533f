"""incidents: reported incidents (§8) against a policy or a covered service, the §8 clock
(reported, assessment started) and the incident report's assessment record (an off-chain record:
reindex keeps it)

Revision ID: 0014
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=True),
    sa.Column('service_id', sa.String(length=66), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_by', sa.String(length=32), nullable=False),
    sa.Column('outage_start', sa.BigInteger(), nullable=True),
    sa.Column('outage_end', sa.BigInteger(), nullable=True),
    sa.Column('log_retention_days', sa.Integer(), nullable=True),
    sa.Column('assessment_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assessment_started_by', sa.String(length=32), nullable=True),
    sa.Column('assessment_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id']),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
    sa.PrimaryKeyConstraint('id')
    )
    for column in ('tenant_id', 'policy_id', 'service_id'):
        op.create_index(op.f(f'ix_incidents_{column}'), 'incidents', [column], unique=False)


def downgrade() -> None:
    for column in ('service_id', 'policy_id', 'tenant_id'):
        op.drop_index(op.f(f'ix_incidents_{column}'), table_name='incidents')
    op.drop_table('incidents')
