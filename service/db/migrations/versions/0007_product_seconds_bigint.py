"""products' uint32 durations as BIGINT: PostgreSQL's INTEGER stops at 2³¹−1, and a product with
a longer trigger, unit, waiting or grace period (valid on-chain) stalled every projection sync

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_COLUMNS = ('trigger_seconds', 'unit_seconds', 'waiting_seconds', 'grace_seconds')


def _retype(old: type[sa.types.TypeEngine], new: type[sa.types.TypeEngine]) -> None:
    with op.batch_alter_table('products') as batch:
        for column in _COLUMNS:
            batch.alter_column(column, type_=new(), existing_type=old(), existing_nullable=False)


def upgrade() -> None:
    _retype(sa.Integer, sa.BigInteger)


def downgrade() -> None:
    _retype(sa.BigInteger, sa.Integer)
