"""anchors keyed by anchor id (one per assessor and report hash), with their subject

The registry now stores a report under keccak256(abi.encode(assessor, reportHash)), so one hash
may have several anchors, and binds it to a subject. `anchors` is a projection of chain events:
it is recreated empty here and refilled by `cybercover reindex` (a registry of the previous
version is not compatible with this service anyway).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('anchors')
    op.create_table('anchors',
    sa.Column('anchor_id', sa.String(length=66), nullable=False),
    sa.Column('report_hash', sa.String(length=66), nullable=False),
    sa.Column('assessor', sa.String(length=42), nullable=False),
    sa.Column('subject', sa.String(length=66), nullable=False),
    sa.Column('score_bps', sa.Integer(), nullable=False),
    sa.Column('risk_level', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Integer(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('anchor_id')
    )
    with op.batch_alter_table('anchors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anchors_report_hash'), ['report_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('anchors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anchors_report_hash'))
    op.drop_table('anchors')
    op.create_table('anchors',
    sa.Column('report_hash', sa.String(length=66), nullable=False),
    sa.Column('assessor', sa.String(length=42), nullable=False),
    sa.Column('score_bps', sa.Integer(), nullable=False),
    sa.Column('risk_level', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Integer(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('report_hash')
    )
