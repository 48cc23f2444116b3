"""an issued version's PDF rendered after the issue: its HTML kept until then

Revision ID: plan0009
Revises: plan0008
Create Date: 2026-12-07 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'plan0009'
down_revision = 'plan0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('plan_documents', sa.Column('source_html', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('plan_documents', 'source_html')
