"""issue_intents, pending_renewals: covers written ahead of their transaction, for the reconciler

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('issue_runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=True),
    sa.Column('quote_id', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.String(length=32), nullable=True),
    sa.Column('request_key', sa.String(length=240), nullable=True),
    sa.Column('shared', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_issue_runs_batch_id', 'issue_runs', ['batch_id'])
    op.create_index('ix_issue_runs_request_key', 'issue_runs', ['request_key'])
    op.create_table('issue_intents',
    sa.Column('holder', sa.String(length=66), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('holder_ref', sa.String(length=200), nullable=False),
    sa.Column('holder_salt', sa.String(length=66), nullable=False),
    sa.Column('beneficiary', sa.String(length=42), nullable=False),
    sa.Column('nonce', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('policy_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['issue_runs.id']),
    sa.PrimaryKeyConstraint('holder')
    )
    op.create_index('ix_issue_intents_run_id', 'issue_intents', ['run_id'])
    op.create_index('ix_issue_intents_outcome', 'issue_intents', ['outcome'])
    op.create_table('pending_renewals',
    sa.Column('old_policy_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('quote_id', sa.String(length=32), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('schedule_hash', sa.String(length=66), nullable=False),
    sa.Column('nonce', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('old_policy_id')
    )
    with op.batch_alter_table('issue_batches') as batch:
        batch.add_column(sa.Column('idempotency_key', sa.String(length=240), nullable=True))
        batch.add_column(sa.Column('handed_over', sa.Boolean(), server_default=sa.false(), nullable=False))
    # The reconciler looks for open batches every worker pass.
    op.create_index('ix_issue_batches_status', 'issue_batches', ['status'])
    op.create_index('ix_issue_batches_idempotency_key', 'issue_batches', ['idempotency_key'])


def downgrade() -> None:
    op.drop_index('ix_issue_batches_idempotency_key', 'issue_batches')
    op.drop_index('ix_issue_batches_status', 'issue_batches')
    with op.batch_alter_table('issue_batches') as batch:
        batch.drop_column('handed_over')
        batch.drop_column('idempotency_key')
    op.drop_table('pending_renewals')
    op.drop_index('ix_issue_intents_outcome', 'issue_intents')
    op.drop_index('ix_issue_intents_run_id', 'issue_intents')
    op.drop_table('issue_intents')
    op.drop_index('ix_issue_runs_request_key', 'issue_runs')
    op.drop_index('ix_issue_runs_batch_id', 'issue_runs')
    op.drop_table('issue_runs')
