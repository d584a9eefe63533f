"""claims review with evidence: each verified window keeps the signer bitmap and transaction of
the OutageVerified that last set it, and the oracle sets (OracleConfigSet) are projected so the
bitmap names its signers (rows projected before it have no signers until `cybercover reindex`)

Revision ID: 0015
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outages') as batch:
        batch.add_column(sa.Column('signers', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('tx', sa.String(length=66), nullable=True))
    op.create_table('oracle_configs',
    sa.Column('version', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('quorum', sa.Integer(), nullable=False),
    sa.Column('signers', sa.JSON(), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )


def downgrade() -> None:
    op.drop_table('oracle_configs')
    with op.batch_alter_table('outages') as batch:
        batch.drop_column('tx')
        batch.drop_column('signers')
