"""anchors keyed by anchor id (one per assessor and report hash), with their subject

The registry now stores a report under keccak256(abi.encode(assessor, reportHash)), so one hash
may have several anchors, and binds it to a subject. `anchors` is a projection of chain events:
it is recreated empty here and refilled by `cybercover reindex` (a registry of the previous
version is not compatible with this service anyway).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from service.db.migrations import frozen

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('anchors')
    op.create_table('anchors', *frozen.anchors('0005'))


def downgrade() -> None:
    op.drop_table('anchors')
    op.create_table('anchors', *frozen.anchors('0001'))
