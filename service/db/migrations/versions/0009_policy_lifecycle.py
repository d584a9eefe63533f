"""the policy lifecycle: cancellation, renewal, service and event caps, claim reasons; assessments
indexed by subject

PolicyBook's records gain fields (schedule hash, premium, renewal links, event-settled part) and
products two (event cap, cancellation fee), so a projection of the previous contracts is not
compatible: every projection table is emptied and the cursor reset, and the next sync (or
`cybercover reindex`) replays them from the chain. `assessments.subject` is the report's subject
commitment, filled here from the stored report JSON. `cancellation_notes` is an off-chain record
(who cancelled, and the written reason).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'  # '0007' per the spec; chained after pricing's 0008 once merged here
branch_labels = None
depends_on = None

_AMOUNT = sa.String(length=80)
_HASH = sa.String(length=66)
# Every projection table of this revision: replayed from the deployment block after the upgrade.
_PROJECTIONS = ('products', 'policies', 'claims', 'payouts', 'outages', 'anchors', 'chain_cursor')
_POLICY_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any], bool], ...] = (
    ('schedule_hash', _HASH, False), ('renewal_of', sa.BigInteger(), False), ('renewed_by', sa.BigInteger(), False),
    ('event_settled', _AMOUNT, False), ('refund', _AMOUNT, True), ('released', _AMOUNT, True),
    ('cancel_tx', _HASH, True),
)


def _subject(report: Any) -> str:
    subject = report.get('subject', {}) if isinstance(report, dict) else {}
    return str(subject.get('commitment', '')).lower()


def _backfill_subjects() -> None:
    assessments = sa.table('assessments', sa.column('id', sa.String()), sa.column('report', sa.JSON()),
                           sa.column('subject', sa.String()))
    conn = op.get_bind()
    for row_id, report in conn.execute(sa.select(assessments.c.id, assessments.c.report)).all():
        conn.execute(assessments.update().where(assessments.c.id == row_id).values(subject=_subject(report)))


def upgrade() -> None:
    for table in _PROJECTIONS:
        op.execute(sa.text(f'DELETE FROM {table}'))  # replayed from the chain: new columns need no default
    with op.batch_alter_table('policies') as batch:
        for name, type_, nullable in _POLICY_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=nullable))
    with op.batch_alter_table('products') as batch:
        batch.add_column(sa.Column('event_cap', _AMOUNT, nullable=False))
        batch.add_column(sa.Column('cancellation_fee', _AMOUNT, nullable=False))
    with op.batch_alter_table('claims') as batch:
        batch.add_column(sa.Column('reason', sa.String(length=30), nullable=False))
    op.create_table('service_caps',
                    sa.Column('service_id', _HASH, nullable=False),
                    sa.Column('cap', _AMOUNT, nullable=False),
                    sa.Column('block', sa.BigInteger(), nullable=False),
                    sa.Column('tx', _HASH, nullable=False),
                    sa.PrimaryKeyConstraint('service_id'))
    op.create_table('cancellation_notes',
                    sa.Column('policy_id', sa.BigInteger(), autoincrement=False, nullable=False),
                    sa.Column('reason', sa.Text(), nullable=True),
                    sa.Column('cancelled_by', sa.String(length=32), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('policy_id'))
    with op.batch_alter_table('assessments') as batch:
        batch.add_column(sa.Column('subject', _HASH, nullable=True))
    _backfill_subjects()
    with op.batch_alter_table('assessments') as batch:
        batch.alter_column('subject', existing_type=_HASH, nullable=False)
        batch.create_index(batch.f('ix_assessments_subject'), ['subject'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessments') as batch:
        batch.drop_index(batch.f('ix_assessments_subject'))
        batch.drop_column('subject')
    op.drop_table('cancellation_notes')
    op.drop_table('service_caps')
    for table in _PROJECTIONS:
        op.execute(sa.text(f'DELETE FROM {table}'))  # the previous contracts' projection: replayed
    with op.batch_alter_table('claims') as batch:
        batch.drop_column('reason')
    with op.batch_alter_table('products') as batch:
        batch.drop_column('cancellation_fee')
        batch.drop_column('event_cap')
    with op.batch_alter_table('policies') as batch:
        for name, _, _ in reversed(_POLICY_COLUMNS):
            batch.drop_column(name)
