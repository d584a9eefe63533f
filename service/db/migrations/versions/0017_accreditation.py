"""accreditation: Appendix B accreditation proposals of assessor accounts, their review (a second
accreditor confirms or rejects) and the `setAssessor` operation scheduled on the governance
timelock (an off-chain record: reindex keeps it)

Revision ID: 0017
Revises: 0011 (re-chained at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_HASH = sa.String(length=66)
_ADDRESS = sa.String(length=42)
_KEY = sa.String(length=32)


def upgrade() -> None:
    op.create_table('accreditations',
    sa.Column('id', _KEY, nullable=False),
    sa.Column('assessor', _ADDRESS, nullable=False),
    sa.Column('open_for', _ADDRESS, nullable=True),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('capability', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('previous_capability', sa.Integer(), nullable=False),
    sa.Column('proposed_by', _KEY, nullable=False),
    sa.Column('confirmed_by', _KEY, nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_by', _KEY, nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('operation', _HASH, nullable=True),
    sa.Column('target', _ADDRESS, nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('salt', _HASH, nullable=True),
    sa.Column('ready_at', sa.BigInteger(), nullable=True),
    sa.Column('scheduled_tx', _HASH, nullable=True),
    sa.Column('executed_tx', _HASH, nullable=True),
    sa.Column('executed_by', _KEY, nullable=True),
    sa.Column('effective_at', sa.BigInteger(), nullable=True),
    sa.Column('cancelled_tx', _HASH, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_for'),
    sa.UniqueConstraint('operation')
    )
    op.create_index(op.f('ix_accreditations_assessor'), 'accreditations', ['assessor'], unique=False)
    op.create_index(op.f('ix_accreditations_status'), 'accreditations', ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('accreditations')
