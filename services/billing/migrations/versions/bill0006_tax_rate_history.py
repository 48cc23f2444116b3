"""tax rate history back to 2008: the TVQ of 2008 to 2012, compounded on the TPS

Revision ID: bill0006
Revises: bill0005
Create Date: 2026-12-07 10:40:00.000000
"""
from datetime import date
from decimal import Decimal

from alembic import op
import sqlalchemy as sa


revision = 'bill0006'
down_revision = 'bill0005'
branch_labels = None
depends_on = None

# Revenu Québec: the QST was 7,5 % until 2010-12-31, 8,5 % in 2011, 9,5 % in 2012, each on
# the price plus the GST; 9,975 % on the price alone since 2013-01-01 (already a row).
HISTORY = (
    (Decimal("0.07500"), date(2008, 1, 1), date(2011, 1, 1)),
    (Decimal("0.08500"), date(2011, 1, 1), date(2012, 1, 1)),
    (Decimal("0.09500"), date(2012, 1, 1), date(2013, 1, 1)),
)


def upgrade() -> None:
    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('compounded', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    tax_rates = sa.table(
        'tax_rates',
        sa.column('name', sa.String),
        sa.column('rate', sa.Numeric(8, 5)),
        sa.column('valid_from', sa.Date),
        sa.column('valid_to', sa.Date),
        sa.column('compounded', sa.Boolean),
    )
    connection = op.get_bind()
    for rate, valid_from, valid_to in HISTORY:
        exists = connection.execute(
            sa.select(sa.func.count()).select_from(tax_rates).where(
                tax_rates.c.name == 'TVQ', tax_rates.c.valid_from == valid_from
            )
        ).scalar()
        if not exists:
            connection.execute(
                tax_rates.insert().values(
                    name='TVQ', rate=rate,
                    valid_from=valid_from, valid_to=valid_to, compounded=True,
                )
            )


def downgrade() -> None:
    tax_rates = sa.table('tax_rates', sa.column('name', sa.String), sa.column('valid_from', sa.Date))
    op.execute(
        tax_rates.delete().where(
            tax_rates.c.name == 'TVQ', tax_rates.c.valid_from < date(2013, 1, 1)
        )
    )
    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.drop_column('compounded')
