"""webhook isolation: signing secrets sealed at rest

Replaces `webhooks.secret` (plaintext) with `webhooks.secret_sealed` (AES-GCM, see
service.webhooks.sealing); existing rows are sealed in place. The key comes from
`config.attributes["webhook_sealer"]` when the caller passes one, else from the process
settings (CYBERCOVER_WEBHOOK_SECRET_KEY or the key file in CYBERCOVER_DATA_DIR), and is only
loaded when there are rows to convert.

Revision ID: 0003
Revises: 0001  (re-chained after 0002 at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _sealer():  # type: ignore[no-untyped-def]
    given = context.config.attributes.get("webhook_sealer")
    if given is not None:
        return given
    from service.settings import get_settings
    from service.webhooks.sealing import sealer_for

    return sealer_for(get_settings())


def upgrade() -> None:
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret_sealed', sa.String(length=200), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, secret FROM webhooks")).all()
    if rows:
        sealer = _sealer()
        for hook_id, secret in rows:
            conn.execute(sa.text("UPDATE webhooks SET secret_sealed = :sealed WHERE id = :id"),
                         {"sealed": sealer.seal(secret, context=hook_id), "id": hook_id})
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.alter_column('secret_sealed', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_column('secret')


def downgrade() -> None:
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, secret_sealed FROM webhooks")).all()
    if rows:
        sealer = _sealer()
        for hook_id, sealed in rows:
            conn.execute(sa.text("UPDATE webhooks SET secret = :secret WHERE id = :id"),
                         {"secret": sealer.open(sealed, context=hook_id), "id": hook_id})
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('secret_sealed')
