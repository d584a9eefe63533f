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


def _convert(old: str, new: str, new_length: int, sealed: bool) -> None:
    """Adds `new`, fills it from `old` (sealing, or opening when going back) and drops `old`."""
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column(new, sa.String(length=new_length), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT id, {old} FROM webhooks")).all()
    if rows:
        sealer = _sealer()
        convert = sealer.seal if sealed else sealer.open
        for hook_id, value in rows:
            conn.execute(sa.text(f"UPDATE webhooks SET {new} = :value WHERE id = :id"),
                         {"value": convert(value, context=hook_id), "id": hook_id})
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.alter_column(new, existing_type=sa.String(length=new_length), nullable=False)
        batch_op.drop_column(old)


def upgrade() -> None:
    _convert('secret', 'secret_sealed', 200, sealed=True)


def downgrade() -> None:
    _convert('secret_sealed', 'secret', 64, sealed=False)
