"""exposure pricing: annual rates per risk level (ppm of the limit), a score adjustment, quote
validity and the maximum report age on product_terms; quotes price one cover (limit and
cover_seconds) with a breakdown and expire

`rates` meant a flat premium per policy before this revision; read as ppm a year they would
underprice every cover, so they move to `flat_rates` (kept for the record and the downgrade) and
those products have no annual rate: each level declines until the product is created again.
Earlier quotes have no `expires_at`: issuance refuses them as expired.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_WEEK = 7 * 86400
_YEAR = 365 * 86400

_terms = sa.table('product_terms', sa.column('rates', sa.JSON), sa.column('flat_rates', sa.JSON))


def upgrade() -> None:
    # Plain ADD COLUMN (no batch table copy), as 0002 does.
    op.add_column('product_terms', sa.Column('score_adjustment_bps', sa.Integer(), nullable=False,
                                             server_default='0'))
    op.add_column('product_terms', sa.Column('quote_validity_seconds', sa.BigInteger(), nullable=False,
                                             server_default=str(_WEEK)))
    op.add_column('product_terms', sa.Column('max_report_age_seconds', sa.BigInteger(), nullable=False,
                                             server_default=str(_YEAR)))
    op.add_column('product_terms', sa.Column('flat_rates', sa.JSON(), nullable=True))
    op.execute(_terms.update().values(flat_rates=_terms.c.rates))
    op.execute(_terms.update().values(rates={}))
    op.add_column('quotes', sa.Column('cover_seconds', sa.BigInteger(), nullable=True))
    op.add_column('quotes', sa.Column('pricing', sa.JSON(), nullable=True))
    op.add_column('quotes', sa.Column('expires_at', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('quotes') as batch:
        batch.drop_column('max_cover_seconds')


def downgrade() -> None:
    with op.batch_alter_table('quotes') as batch:
        batch.add_column(sa.Column('max_cover_seconds', sa.BigInteger(), nullable=True))
        batch.drop_column('expires_at')
        batch.drop_column('pricing')
        batch.drop_column('cover_seconds')
    op.execute(_terms.update().where(_terms.c.flat_rates.is_not(None)).values(rates=_terms.c.flat_rates))
    with op.batch_alter_table('product_terms') as batch:
        batch.drop_column('flat_rates')
        batch.drop_column('max_report_age_seconds')
        batch.drop_column('quote_validity_seconds')
        batch.drop_column('score_adjustment_bps')
