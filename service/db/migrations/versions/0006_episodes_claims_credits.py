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

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_AMOUNT = sa.String(length=80)
_INDEXES = {
    'claims': ('deadline', 'policy_id', 'status'),
    'outages': ('service_id',),
    'payouts': ('policy_id',),
    'policies': ('beneficiary', 'product_id', 'status'),
    'products': ('service_id',),
}


def _drop(tables: dict[str, tuple[str, ...]]) -> None:
    for table, columns in tables.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
        op.drop_table(table)


def _index(tables: dict[str, tuple[str, ...]]) -> None:
    for table, columns in tables.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def upgrade() -> None:
    _drop({**_INDEXES, 'claims': ('policy_id', 'status')})
    op.create_table('products',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('service_id', sa.String(length=66), nullable=False),
    sa.Column('trigger_seconds', sa.Integer(), nullable=False),
    sa.Column('payout_kind', sa.Integer(), nullable=False),
    sa.Column('unit_seconds', sa.Integer(), nullable=False),
    sa.Column('waiting_seconds', sa.Integer(), nullable=False),
    sa.Column('grace_seconds', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('auto_pay_limit', _AMOUNT, nullable=False),
    sa.Column('payout_amount', _AMOUNT, nullable=False),
    sa.Column('policy_limit', _AMOUNT, nullable=False),
    sa.Column('max_cover_seconds', sa.BigInteger(), nullable=False),
    sa.Column('max_start_delay', sa.BigInteger(), nullable=False),
    sa.Column('min_premium', _AMOUNT, nullable=False),
    sa.Column('medium_limit', _AMOUNT, nullable=False),
    sa.Column('min_rate_ppm', sa.BigInteger(), nullable=False),
    sa.Column('claim_seconds', sa.BigInteger(), nullable=False),
    sa.Column('exposure_cap', _AMOUNT, nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('policies',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=42), nullable=False),
    sa.Column('cover_start', sa.BigInteger(), nullable=False),
    sa.Column('cover_end', sa.BigInteger(), nullable=False),
    sa.Column('limit', _AMOUNT, nullable=False),
    sa.Column('beneficiary', sa.String(length=42), nullable=False),
    sa.Column('holder', sa.String(length=66), nullable=False),
    sa.Column('subject', sa.String(length=66), nullable=False),
    sa.Column('report_hash', sa.String(length=66), nullable=False),
    sa.Column('settled', _AMOUNT, nullable=False),
    sa.Column('paid', _AMOUNT, nullable=False),
    sa.Column('open_claim', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('premium', _AMOUNT, nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('claims',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', _AMOUNT, nullable=False),
    sa.Column('entitlement', _AMOUNT, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('deadline', sa.BigInteger(), nullable=False),
    sa.Column('approved', _AMOUNT, nullable=True),
    sa.Column('incident_report', sa.String(length=66), nullable=True),
    sa.Column('reason_hash', sa.String(length=66), nullable=True),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('payouts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('beneficiary', sa.String(length=42), nullable=False),
    sa.Column('amount', _AMOUNT, nullable=False),
    sa.Column('entitlement', _AMOUNT, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx', 'log_index')
    )
    op.create_table('outages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('service_id', sa.String(length=66), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('start', sa.BigInteger(), nullable=False),
    sa.Column('end', sa.BigInteger(), nullable=False),
    sa.Column('ongoing', sa.Boolean(), nullable=False),
    sa.Column('config_version', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.BigInteger(), nullable=False),
    sa.Column('start_since', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('handled_version', sa.Integer(), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_id', 'index')
    )
    _index(_INDEXES)
    op.create_table('claim_notes',
    sa.Column('claim_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reason_hash', sa.String(length=66), nullable=False),
    sa.Column('amount', _AMOUNT, nullable=True),
    sa.Column('decided_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('claim_id')
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_cover_seconds', sa.BigInteger(), nullable=True))
    op.execute(sa.text('DELETE FROM chain_cursor'))  # replay the projection from the deployment


def downgrade() -> None:
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_column('max_cover_seconds')
    op.drop_table('claim_notes')
    _drop(_INDEXES)
    op.create_table('products',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('service_id', sa.String(length=66), nullable=False),
    sa.Column('trigger_seconds', sa.Integer(), nullable=False),
    sa.Column('payout_kind', sa.Integer(), nullable=False),
    sa.Column('unit_seconds', sa.Integer(), nullable=False),
    sa.Column('waiting_seconds', sa.Integer(), nullable=False),
    sa.Column('grace_seconds', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('auto_pay_limit', _AMOUNT, nullable=False),
    sa.Column('payout_amount', _AMOUNT, nullable=False),
    sa.Column('policy_limit', _AMOUNT, nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('policies',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=42), nullable=False),
    sa.Column('cover_start', sa.BigInteger(), nullable=False),
    sa.Column('cover_end', sa.BigInteger(), nullable=False),
    sa.Column('limit', _AMOUNT, nullable=False),
    sa.Column('beneficiary', sa.String(length=42), nullable=False),
    sa.Column('holder', sa.String(length=66), nullable=False),
    sa.Column('report_hash', sa.String(length=66), nullable=False),
    sa.Column('settled', _AMOUNT, nullable=False),
    sa.Column('paid', _AMOUNT, nullable=False),
    sa.Column('open_claim', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('premium', _AMOUNT, nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('claims',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', _AMOUNT, nullable=False),
    sa.Column('entitlement', _AMOUNT, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('incident_report', sa.String(length=66), nullable=True),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('payouts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', _AMOUNT, nullable=False),
    sa.Column('entitlement', _AMOUNT, nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.Column('tx', sa.String(length=66), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx', 'log_index')
    )
    op.create_table('outages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('service_id', sa.String(length=66), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('start', sa.BigInteger(), nullable=False),
    sa.Column('end', sa.BigInteger(), nullable=False),
    sa.Column('ongoing', sa.Boolean(), nullable=False),
    sa.Column('config_version', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('handled_version', sa.Integer(), nullable=False),
    sa.Column('block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_id', 'index')
    )
    _index({**_INDEXES, 'claims': ('policy_id', 'status')})
    op.execute(sa.text('DELETE FROM chain_cursor'))
