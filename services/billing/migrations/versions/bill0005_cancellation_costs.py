"""costs incurred on cancellation: the candidate-workers of a cancelled plan and the record
of the costs incurred with its final invoice

Revision ID: bill0005
Revises: bill0004
Create Date: 2026-11-24 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'bill0005'
down_revision = 'bill0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('candidates', sa.JSON(), nullable=True))

    op.create_table('cancellation_costs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_cancellation_costs_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cancellation_costs')),
    sa.UniqueConstraint('plan_id', name=op.f('uq_cancellation_costs_plan_id'))
    )


def downgrade() -> None:
    op.drop_table('cancellation_costs')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('candidates')
