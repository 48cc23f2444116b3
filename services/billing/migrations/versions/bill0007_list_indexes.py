"""lists: indexes of the invoice and credit-note lists' keyset orders within a tenant

Revision ID: bill0007
Revises: bill0006
Create Date: 2026-12-07 13:10:00.000000
"""
from alembic import op


revision = 'bill0007'
down_revision = 'bill0006'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_invoices_institution_due', 'invoices', ['institution_id', 'due_on', 'number']),
    ('ix_invoices_employer_due', 'invoices', ['employer_id', 'due_on', 'number']),
    ('ix_invoices_institution_issued', 'invoices', ['institution_id', 'issued_on', 'id']),
    ('ix_credit_notes_institution_issued', 'credit_notes', ['institution_id', 'issued_on', 'id']),
    ('ix_credit_notes_employer_issued', 'credit_notes', ['employer_id', 'issued_on', 'id']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
