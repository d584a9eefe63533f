"""notices: a webhook's scope ("tenant": its tenant's notices; "insurer": created by an insurer
staff key, every tenant's notices; existing webhooks keep their tenant scope), and the table of
published notice occurrences (a key is published once).

Revision ID: 0016
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhooks') as batch:
        batch.add_column(sa.Column('scope', sa.String(length=16), server_default='tenant', nullable=False))
    op.create_table('notices',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key_hash')
    )


def downgrade() -> None:
    op.drop_table('notices')
    with op.batch_alter_table('webhooks') as batch:
        batch.drop_column('scope')
