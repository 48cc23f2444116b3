"""lists: the applications' sortable institution name, the indexes of a call's table and
of a CERAC's reports

The ministry's table of a call is read one page at a time in the order a French reader
expects (accents and case ignored): the name's sort key is stored beside it, filled here
for the applications that exist.

Revision ID: appl0006
Revises: appl0005
Create Date: 2026-12-07 13:00:00
"""
import unicodedata

from alembic import op
import sqlalchemy as sa


revision = 'appl0006'
down_revision = 'appl0005'
branch_labels = None
depends_on = None


def _sort_key(text):
    decomposed = unicodedata.normalize("NFD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def upgrade() -> None:
    with op.batch_alter_table('applications') as batch:
        batch.add_column(
            sa.Column('organisation_sort', sa.String(length=200), nullable=False, server_default='')
        )
    applications = sa.table(
        'applications',
        sa.column('id', sa.Integer),
        sa.column('organisation_name', sa.String),
        sa.column('organisation_sort', sa.String),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(applications.c.id, applications.c.organisation_name)):
        connection.execute(
            applications.update()
            .where(applications.c.id == row.id)
            .values(organisation_sort=_sort_key(row.organisation_name))
        )
    with op.batch_alter_table('applications') as batch:
        batch.alter_column('organisation_sort', server_default=None)
    op.create_index(
        'ix_applications_call_sort', 'applications', ['call_id', 'organisation_sort', 'id']
    )
    op.create_index(
        'ix_cerac_reports_cerac_due', 'cerac_reports', ['cerac_id', 'due_date', 'id']
    )


def downgrade() -> None:
    op.drop_index('ix_cerac_reports_cerac_due', table_name='cerac_reports')
    op.drop_index('ix_applications_call_sort', table_name='applications')
    with op.batch_alter_table('applications') as batch:
        batch.drop_column('organisation_sort')
