"""policy schedules: each issued policy's wording, the JSON document whose keccak256 (RFC 8785)
is the on-chain record's scheduleHash (an off-chain record: reindex keeps it)

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('policy_schedules',
    sa.Column('policy_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('schedule_hash', sa.String(length=66), nullable=False, index=True),
    sa.PrimaryKeyConstraint('policy_id')
    )


def downgrade() -> None:
    op.drop_table('policy_schedules')
