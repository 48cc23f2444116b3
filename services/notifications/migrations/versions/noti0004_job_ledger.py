"""job ledger: one row per (scheduled job, as-of date)

The notifications service now runs its own scheduled job (rac_shared/scheduler.py): the
purge of the events its outbox published. The unique key on (job, as_of) makes exactly
one replica run each day.

Revision ID: noti0004
Revises: noti0003
Create Date: 2026-12-07 17:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'noti0004'
down_revision = 'noti0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('job', sa.String(length=60), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('runner', sa.String(length=120), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job', 'as_of', name='uq_job_runs_job_as_of')
    )


def downgrade() -> None:
    op.drop_table('job_runs')
