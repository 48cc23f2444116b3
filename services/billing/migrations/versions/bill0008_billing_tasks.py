"""billing tasks: invoicing runs and bank-file imports done in the background

Revision ID: bill0008
Revises: bill0007
Create Date: 2026-12-07 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'bill0008'
down_revision = 'bill0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_tasks',
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('pending_key', sa.String(length=120), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error_details', sa.JSON(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_tasks')),
    sa.UniqueConstraint('pending_key', name='uq_billing_tasks_pending_key')
    )
    with op.batch_alter_table('billing_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_billing_tasks_institution_requested', ['institution_id', 'requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_tasks_next_attempt_at'), ['next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('billing_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_tasks_next_attempt_at'))
        batch_op.drop_index('ix_billing_tasks_institution_requested')
    op.drop_table('billing_tasks')
