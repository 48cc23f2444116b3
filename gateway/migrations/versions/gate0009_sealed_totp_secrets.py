"""TOTP secrets sealed at rest (AES-256-GCM under TWO_FACTOR_KEY, gateway/secret_box.py)

The column grows to hold the sealed form, and every secret already stored in clear is sealed
with the current key; a downgrade opens them again.

Revision ID: gate0009
Revises: gate0008
Create Date: 2026-12-07 13:30:00
"""
import sqlalchemy as sa
from alembic import op

from gateway.secret_box import is_sealed, open_sealed, seal

revision = 'gate0009'
down_revision = 'gate0008'
branch_labels = None
depends_on = None

users = sa.table('users', sa.column('id', sa.Integer), sa.column('totp_secret', sa.String))


def _rewrite(change) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.is_not(None))
    ).all()
    for user_id, value in rows:
        new = change(value)
        if new != value:
            connection.execute(
                users.update().where(users.c.id == user_id).values(totp_secret=new)
            )


def upgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.alter_column(
            'totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    _rewrite(lambda value: value if is_sealed(value) else seal(value))


def downgrade() -> None:
    _rewrite(lambda value: open_sealed(value) if is_sealed(value) else value)
    with op.batch_alter_table('users') as batch_op:
        batch_op.alter_column(
            'totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
