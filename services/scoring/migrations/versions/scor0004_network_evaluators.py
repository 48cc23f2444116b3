"""evaluators of the network's institutions: each member's organisation, and the links
evaluators declare with institutions (conflicts of interest)

Revision ID: scor0004
Revises: scor0003
Create Date: 2026-12-07 13:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'scor0004'
down_revision = 'scor0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('committee_members', sa.Column('organisation_id', sa.Integer(), nullable=True))
    op.add_column('committee_members', sa.Column('organisation_name', sa.String(length=200), nullable=True))
    op.create_table('evaluator_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluator_user_id', sa.Integer(), nullable=False),
    sa.Column('evaluator_name', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('organisation_name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluator_links')),
    sa.UniqueConstraint('evaluator_user_id', 'organisation_id', name=op.f('uq_evaluator_links_evaluator_user_id'))
    )
    op.create_index(op.f('ix_evaluator_links_evaluator_user_id'), 'evaluator_links', ['evaluator_user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_evaluator_links_evaluator_user_id'), table_name='evaluator_links')
    op.drop_table('evaluator_links')
    op.drop_column('committee_members', 'organisation_name')
    op.drop_column('committee_members', 'organisation_id')
