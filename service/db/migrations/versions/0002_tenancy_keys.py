"""tenancy and keys: the insurer tenant flag, key expiry and last use

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

CLIENT_ROLES = ('admin', 'distributor', 'auditor')


def upgrade() -> None:
    # Plain ADD COLUMN (no batch table copy): SQLite cannot drop `tenants` while keys refer to it.
    op.add_column('tenants', sa.Column('insurer', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('api_keys', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('api_keys', sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))

    tenants = sa.table('tenants', sa.column('name', sa.String), sa.column('insurer', sa.Boolean),
                       sa.column('id', sa.String))
    keys = sa.table('api_keys', sa.column('tenant_id', sa.String), sa.column('role', sa.String),
                    sa.column('revoked', sa.Boolean))
    # The tenant the bootstrap admin key created before this revision is the insurer's.
    op.execute(tenants.update().where(tenants.c.name == 'insurer').values(insurer=True))
    # Insurer staff roles held by client tenants were the cross-tenant hole: revoke them.
    client = sa.select(tenants.c.id).where(tenants.c.insurer.is_(False))
    op.execute(keys.update().where(keys.c.tenant_id.in_(client), keys.c.role.not_in(CLIENT_ROLES))
               .values(revoked=True))


def downgrade() -> None:
    op.drop_column('api_keys', 'last_used_at')
    op.drop_column('api_keys', 'expires_at')
    op.drop_column('tenants', 'insurer')
