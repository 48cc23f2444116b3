"""amendments say which version they modify; withdrawals are dated; employers may decline

Revision ID: plan0004
Revises: plan0003
Create Date: 2026-12-01 21:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'plan0004'
down_revision = 'plan0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plan_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amends_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('declined_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('declined_by_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('decline_reason', sa.Text(), nullable=True))
    # Amendments prepared before this revision modify the version their plan had accepted
    # when they were prepared: the one they were copied from, or, for the revision of a
    # withdrawn amendment, the accepted version preceding them.
    op.execute(
        "UPDATE plan_versions SET amends_version = ("
        " SELECT max(a.number) FROM plan_versions a"
        " WHERE a.plan_id = plan_versions.plan_id AND a.number < plan_versions.number"
        " AND a.accepted_at IS NOT NULL)"
        " WHERE based_on IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('plan_versions', schema=None) as batch_op:
        batch_op.drop_column('decline_reason')
        batch_op.drop_column('declined_by_name')
        batch_op.drop_column('declined_by_user_id')
        batch_op.drop_column('declined_at')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('amends_version')
