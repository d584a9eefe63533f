"""figures: who asked for each quote (underwriting automation), each payout's block time and
every OutageVerified as submitted (time from verified outage to payout)

Revision ID: 0018
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quotes') as batch:
        batch.add_column(sa.Column('requested_role', sa.String(length=20), nullable=True))
    with op.batch_alter_table('payouts') as batch:
        batch.add_column(sa.Column('block_time', sa.BigInteger(), nullable=True))
    op.create_table('outage_verifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('service_id', sa.String(length=66), nullable=False, index=True),
    sa.Column('start', sa.BigInteger(), nullable=False),
    sa.Column('end', sa.BigInteger(), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('block_time', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx', 'log_index')
    )


def downgrade() -> None:
    op.drop_table('outage_verifications')
    with op.batch_alter_table('payouts') as batch:
        batch.drop_column('block_time')
    with op.batch_alter_table('quotes') as batch:
        batch.drop_column('requested_role')
