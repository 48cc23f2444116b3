"""lists: indexes of the plans list within a tenant (by status, by last change, employer's)

Revision ID: plan0007
Revises: plan0006
Create Date: 2026-12-07 13:10:00.000000
"""
from alembic import op


revision = 'plan0007'
down_revision = 'plan0006'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_plans_institution_status', ['institution_id', 'status', 'id']),
    ('ix_plans_institution_updated', ['institution_id', 'updated_at', 'id']),
    ('ix_plans_employer_issued', ['employer_id', 'ever_issued', 'id']),
)


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, 'plans', columns)


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name='plans')
