"""calendar feeds: one personal iCalendar feed per user, revocable

The feed's URL holds a token signed for (user, generation); revoking it deactivates the
row, and a new feed bumps the generation so that older URLs stop working.

Revision ID: gate0005
Revises: gate0004
Create Date: 2026-12-07 10:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'gate0005'
down_revision = 'gate0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_feeds',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feeds'))
    )


def downgrade() -> None:
    op.drop_table('calendar_feeds')
