"""cohorts: group covers (CohortBook) — the cohort files and members the service keeps (off-chain:
reindex keeps them) and the projection of CohortBook's events (reindex rebuilds it)

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_UINT = sa.String(length=80)  # models.BigUint


def upgrade() -> None:
    op.create_table('cohort_files',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('cohort_id', sa.BigInteger(), nullable=True),
    sa.Column('segment', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.String(length=32), nullable=False),
    sa.Column('root', sa.String(length=66), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total_limit', _UINT, nullable=False),
    sa.Column('premium', _UINT, nullable=False),
    sa.Column('cover_end', sa.BigInteger(), nullable=False),
    sa.Column('pricing', sa.JSON(), nullable=False),
    sa.Column('tree', sa.LargeBinary(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cohort_id', 'segment'),
    )
    op.create_index('ix_cohort_files_tenant_id', 'cohort_files', ['tenant_id'])
    op.create_index('ix_cohort_files_cohort_id', 'cohort_files', ['cohort_id'])
    op.create_index('ix_cohort_files_root', 'cohort_files', ['root'])
    op.create_table('cohort_members',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('file_id', sa.String(length=32), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=False),
    sa.Column('salt', sa.String(length=66), nullable=False),
    sa.Column('beneficiary', sa.String(length=42), nullable=False),
    sa.Column('limit', _UINT, nullable=False),
    sa.Column('premium', _UINT, nullable=False),
    sa.Column('holder', sa.String(length=66), nullable=False),
    sa.Column('leaf', sa.String(length=66), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['cohort_files.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('file_id', 'index'),
    sa.UniqueConstraint('file_id', 'ref'),
    )
    op.create_index('ix_cohort_members_file_id', 'cohort_members', ['file_id'])
    op.create_index('ix_cohort_members_ref', 'cohort_members', ['ref'])
    op.create_table('cohorts',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('distributor', sa.String(length=42), nullable=False),
    sa.Column('cover_start', sa.BigInteger(), nullable=False),
    sa.Column('cover_end', sa.BigInteger(), nullable=False),
    sa.Column('subject', sa.String(length=66), nullable=False),
    sa.Column('report_hash', sa.String(length=66), nullable=False),
    sa.Column('premium', _UINT, nullable=False),
    sa.Column('locked', _UINT, nullable=False),
    sa.Column('total_limit', _UINT, nullable=False),
    sa.Column('paid', _UINT, nullable=False),
    sa.Column('released', _UINT, nullable=False),
    sa.Column('refunded', _UINT, nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_cohorts_product_id', 'cohorts', ['product_id'])
    op.create_table('cohort_segments',
    sa.Column('cohort_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('segment', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('root', sa.String(length=66), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total_limit', _UINT, nullable=False),
    sa.Column('premium', _UINT, nullable=False),
    sa.Column('start', sa.BigInteger(), nullable=False),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('cohort_id', 'segment'),
    )
    op.create_table('cohort_rounds',
    sa.Column('cohort_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('segment', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('round', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('level', _UINT, nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('cohort_id', 'segment', 'round'),
    )
    op.create_table('cohort_payouts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('cohort_id', sa.BigInteger(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('segment', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('beneficiary', sa.String(length=42), nullable=False),
    sa.Column('amount', _UINT, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cohort_id', 'round', 'segment', 'index'),
    )
    op.create_index('ix_cohort_payouts_cohort_id', 'cohort_payouts', ['cohort_id'])
    op.create_index('ix_cohort_payouts_tx', 'cohort_payouts', ['tx'])
    op.create_table('cohort_removals',
    sa.Column('cohort_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('segment', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('index', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('cohort_id', 'segment', 'index'),
    )


def downgrade() -> None:
    for table in ('cohort_removals', 'cohort_payouts', 'cohort_rounds', 'cohort_segments', 'cohorts',
                  'cohort_members', 'cohort_files'):
        op.drop_table(table)
