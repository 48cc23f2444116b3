"""billing's estimate snapshots, kept per plan version to issue without asking billing

Revision ID: plan0005
Revises: plan0004
Create Date: 2026-12-07 10:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'plan0005'
down_revision = 'plan0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('estimate_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('estimate_hash', sa.String(length=64), nullable=False),
    sa.Column('candidate_count', sa.Integer(), nullable=False),
    sa.Column('estimate', sa.JSON(), nullable=False),
    sa.Column('document_html', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_estimate_snapshots')),
    sa.UniqueConstraint('plan_id', 'version', name='uq_estimate_snapshots_plan_version')
    )


def downgrade() -> None:
    op.drop_table('estimate_snapshots')
