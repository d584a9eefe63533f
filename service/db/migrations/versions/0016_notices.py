"""notices: a webhook's scope ("tenant": its tenant's notices; "insurer": created by an insurer
staff key, every tenant's notices). Existing webhooks keep their tenant scope.

Revision ID: 0016
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhooks') as batch:
        batch.add_column(sa.Column('scope', sa.String(length=16), server_default='tenant', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('webhooks') as batch:
        batch.drop_column('scope')
