"""reply-to and list-unsubscribe of each e-mail

Revision ID: noti0003
Revises: noti0002
Create Date: 2026-11-24 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'noti0003'
down_revision = 'noti0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('list_unsubscribe', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('list_unsubscribe')
        batch_op.drop_column('reply_to')
