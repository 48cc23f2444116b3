"""French names: an organisation's article and gender, a user's form of address

Running text writes « du Cégep de Lévis », « à la Boulangerie… »; the directory keeps the
article a name takes (empty when the default its first word implies is right), and the form
of address (Madame, Monsieur) that letters and role labels follow.

Revision ID: gate0008
Revises: gate0007
Create Date: 2026-12-07 10:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'gate0008'
down_revision = 'gate0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('organisations', sa.Column('article', sa.String(length=3), nullable=True))
    op.add_column('organisations', sa.Column('gender', sa.String(length=1), nullable=True))
    op.add_column('users', sa.Column('form_of_address', sa.String(length=10), nullable=True))


def downgrade() -> None:
    op.drop_column('users', 'form_of_address')
    op.drop_column('organisations', 'gender')
    op.drop_column('organisations', 'article')
