"""rerating: anchors record the report that superseded them (ReportSuperseded), so the subject's
current report — its latest anchored report neither revoked nor superseded — is a projection
query (a projection column: reindex rebuilds it)

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('anchors') as batch:
        batch.add_column(sa.Column('superseded_by', sa.String(length=66), nullable=True))
        batch.create_index(batch.f("ix_anchors_superseded_by"), ["superseded_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('anchors') as batch:
        batch.drop_index(batch.f("ix_anchors_superseded_by"))
        batch.drop_column('superseded_by')
