"""the issue-9 contracts: products with issuance floors and caps, policies bound to a subject,
claims with deadlines (lapsed) and reasons, credited payouts, windows that merge and insert

The projection tables (products, policies, claims, payouts, outages) are recreated empty and the
cursor reset, so the next sync (or `cybercover reindex`) replays them from the chain: a projection
of contracts of the previous version is not compatible with this service anyway. `claim_notes`
(the written reasons behind claim decisions) is an off-chain record; a quote records the longest
cover its premium allows.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.db.migrations import frozen

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_PROJECTIONS = ('products', 'policies', 'claims', 'payouts', 'outages')


def _rebuild(rev: str) -> None:
    """Recreates the projection tables empty, as `rev` defines them (their indexes go with them)."""
    for table in _PROJECTIONS:
        op.drop_table(table)
        op.create_table(table, *getattr(frozen, table)(rev))
    op.execute(sa.text('DELETE FROM chain_cursor'))  # replay the projection from the deployment


def upgrade() -> None:
    _rebuild('0006')
    op.create_table('claim_notes',
    sa.Column('claim_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reason_hash', sa.String(length=66), nullable=False),
    sa.Column('amount', sa.String(length=80), nullable=True),
    sa.Column('decided_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('claim_id')
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_cover_seconds', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_column('max_cover_seconds')
    op.drop_table('claim_notes')
    _rebuild('0001')
