"""The projection tables as each revision creates them, for the revisions that rebuild them.

Written out here rather than taken from service.db.models: history must not move when the
models change. `rev` is the revision whose table is wanted; a column or index added by a later
rebuild says since when (`_since`), so the earlier shapes never change.
"""

from __future__ import annotations

import sqlalchemy as sa

_AMOUNT = sa.String(length=80)
_HASH = sa.String(length=66)
_ADDRESS = sa.String(length=42)


def _since(rev: str, first: str, *items: sa.SchemaItem) -> list[sa.SchemaItem]:
    return list(items) if rev >= first else []


def anchors(rev: str) -> list[sa.SchemaItem]:
    return [
        *_since(rev, '0005', sa.Column('anchor_id', _HASH, nullable=False)),
        sa.Column('report_hash', _HASH, nullable=False, index=rev >= '0005'),
        sa.Column('assessor', _ADDRESS, nullable=False),
        *_since(rev, '0005', sa.Column('subject', _HASH, nullable=False)),
        sa.Column('score_bps', sa.Integer(), nullable=False),
        sa.Column('risk_level', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Integer(), nullable=False),
        sa.Column('revoked', sa.Boolean(), nullable=False),
        sa.Column('block', sa.BigInteger(), nullable=False),
        sa.Column('tx', _HASH, nullable=False),
        sa.PrimaryKeyConstraint('anchor_id' if rev >= '0005' else 'report_hash'),
    ]


def products(rev: str) -> list[sa.SchemaItem]:
    return [
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('service_id', _HASH, nullable=False, index=True),
        sa.Column('trigger_seconds', sa.Integer(), nullable=False),
        sa.Column('payout_kind', sa.Integer(), nullable=False),
        sa.Column('unit_seconds', sa.Integer(), nullable=False),
        sa.Column('waiting_seconds', sa.Integer(), nullable=False),
        sa.Column('grace_seconds', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('auto_pay_limit', _AMOUNT, nullable=False),
        sa.Column('payout_amount', _AMOUNT, nullable=False),
        sa.Column('policy_limit', _AMOUNT, nullable=False),
        *_since(rev, '0006',
                sa.Column('max_cover_seconds', sa.BigInteger(), nullable=False),
                sa.Column('max_start_delay', sa.BigInteger(), nullable=False),
                sa.Column('min_premium', _AMOUNT, nullable=False),
                sa.Column('medium_limit', _AMOUNT, nullable=False),
                sa.Column('min_rate_ppm', sa.BigInteger(), nullable=False),
                sa.Column('claim_seconds', sa.BigInteger(), nullable=False),
                sa.Column('exposure_cap', _AMOUNT, nullable=False)),
        sa.Column('block', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    ]


def policies(rev: str) -> list[sa.SchemaItem]:
    return [
        sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False, index=True),
        sa.Column('issuer', _ADDRESS, nullable=False),
        sa.Column('cover_start', sa.BigInteger(), nullable=False),
        sa.Column('cover_end', sa.BigInteger(), nullable=False),
        sa.Column('limit', _AMOUNT, nullable=False),
        sa.Column('beneficiary', _ADDRESS, nullable=False, index=True),
        sa.Column('holder', _HASH, nullable=False),
        *_since(rev, '0006', sa.Column('subject', _HASH, nullable=False)),
        sa.Column('report_hash', _HASH, nullable=False),
        sa.Column('settled', _AMOUNT, nullable=False),
        sa.Column('paid', _AMOUNT, nullable=False),
        sa.Column('open_claim', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False, index=True),
        sa.Column('premium', _AMOUNT, nullable=False),
        sa.Column('block', sa.BigInteger(), nullable=False),
        sa.Column('tx', _HASH, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    ]


def claims(rev: str) -> list[sa.SchemaItem]:
    return [
        sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('policy_id', sa.BigInteger(), nullable=False, index=True),
        sa.Column('amount', _AMOUNT, nullable=False),
        sa.Column('entitlement', _AMOUNT, nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False, index=True),
        *_since(rev, '0006',
                sa.Column('deadline', sa.BigInteger(), nullable=False, index=True),
                sa.Column('approved', _AMOUNT, nullable=True)),
        sa.Column('incident_report', _HASH, nullable=True),
        *_since(rev, '0006', sa.Column('reason_hash', _HASH, nullable=True)),
        sa.Column('block', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    ]


def payouts(rev: str) -> list[sa.SchemaItem]:
    return [
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('policy_id', sa.BigInteger(), nullable=False, index=True),
        *_since(rev, '0006', sa.Column('beneficiary', _ADDRESS, nullable=False)),
        sa.Column('amount', _AMOUNT, nullable=False),
        sa.Column('entitlement', _AMOUNT, nullable=False),
        *_since(rev, '0006', sa.Column('status', sa.String(length=10), nullable=False)),
        sa.Column('block', sa.BigInteger(), nullable=False),
        sa.Column('tx', _HASH, nullable=False),
        sa.Column('log_index', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tx', 'log_index'),
    ]


def outages(rev: str) -> list[sa.SchemaItem]:
    return [
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('service_id', _HASH, nullable=False, index=True),
        sa.Column('index', sa.Integer(), nullable=False),
        sa.Column('start', sa.BigInteger(), nullable=False),
        sa.Column('end', sa.BigInteger(), nullable=False),
        sa.Column('ongoing', sa.Boolean(), nullable=False),
        sa.Column('config_version', sa.Integer(), nullable=False),
        *_since(rev, '0006',
                sa.Column('verified_at', sa.BigInteger(), nullable=False),
                sa.Column('start_since', sa.BigInteger(), nullable=False)),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('handled_version', sa.Integer(), nullable=False),
        sa.Column('block', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('service_id', 'index'),
    ]
