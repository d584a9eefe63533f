"""reorg detection (cursor block hash) and payout retries

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chain_cursor') as batch:
        batch.add_column(sa.Column('hash', sa.String(length=66), nullable=True))
    op.create_table('payout_retries',
    sa.Column('policy_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('service_id', sa.String(length=66), nullable=False, index=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('policy_id', 'action')
    )


def downgrade() -> None:
    op.drop_table('payout_retries')  # its indexes go with it
    with op.batch_alter_table('chain_cursor') as batch:
        batch.drop_column('hash')
