"""the ministry's table of names and ministers, as its administrator records it

Revision ID: scor0003
Revises: scor0002
Create Date: 2026-12-07 10:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'scor0003'
down_revision = 'scor0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ministry_periods',
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('acronym', sa.String(length=12), nullable=False),
    sa.Column('minister', sa.String(length=20), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('since', name=op.f('pk_ministry_periods'))
    )


def downgrade() -> None:
    op.drop_table('ministry_periods')
