"""exclusions: declared maintenance windows and excluded events (projection of OutageOracle's
MaintenanceRulesSet, MaintenanceDeclared, MaintenanceCancelled, ExcludedEventDeclared), which
tenant declares a service's maintenance, and the excluded events scheduled on the timelock

The projection tables start empty: a deployment before this revision's contracts has no such
events to replay.

Revision ID: 0010
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_HASH = sa.String(length=66)


def upgrade() -> None:
    op.create_table('maintenance_rules',
    sa.Column('service_id', _HASH, nullable=False),
    sa.Column('maintainer', sa.String(length=42), nullable=False),
    sa.Column('min_notice', sa.BigInteger(), nullable=False),
    sa.Column('max_seconds_per_period', sa.BigInteger(), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('service_id')
    )
    for table in ('maintenance_windows', 'excluded_events'):
        op.create_table(table,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('service_id', _HASH, nullable=False),
        sa.Column('index', sa.Integer(), nullable=False),
        sa.Column('start', sa.BigInteger(), nullable=False),
        sa.Column('end', sa.BigInteger(), nullable=False),
        *([sa.Column('reason_hash', _HASH, nullable=False)] if table == 'excluded_events' else []),
        sa.Column('declared_at', sa.BigInteger(), nullable=False),
        *([sa.Column('cancelled', sa.Boolean(), nullable=False)] if table == 'maintenance_windows' else []),
        sa.Column('block', sa.BigInteger(), nullable=False),
        sa.Column('tx', _HASH, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('service_id', 'index')
        )
        op.create_index(op.f(f'ix_{table}_service_id'), table, ['service_id'], unique=False)
    op.create_table('maintenance_tenants',
    sa.Column('service_id', _HASH, nullable=False),
    sa.Column('tenant_id', sa.String(length=32), nullable=False),
    sa.Column('set_by', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
    sa.PrimaryKeyConstraint('service_id')
    )
    op.create_index(op.f('ix_maintenance_tenants_tenant_id'), 'maintenance_tenants', ['tenant_id'], unique=False)
    op.create_table('excluded_event_operations',
    sa.Column('operation', _HASH, nullable=False),
    sa.Column('service_ids', sa.JSON(), nullable=False),
    sa.Column('start', sa.BigInteger(), nullable=False),
    sa.Column('end', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reason_hash', _HASH, nullable=False),
    sa.Column('target', sa.String(length=42), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('salt', _HASH, nullable=False),
    sa.Column('ready_at', sa.BigInteger(), nullable=False),
    sa.Column('scheduled_tx', _HASH, nullable=True),
    sa.Column('executed_tx', _HASH, nullable=True),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('operation')
    )
    op.create_index(op.f('ix_excluded_event_operations_reason_hash'), 'excluded_event_operations', ['reason_hash'],
                    unique=False)


def downgrade() -> None:
    op.drop_table('excluded_event_operations')
    op.drop_table('maintenance_tenants')
    op.drop_table('excluded_events')
    op.drop_table('maintenance_windows')
    op.drop_table('maintenance_rules')
