"""retention under Loi 25: plans anonymised, PDFs destroyed, a privacy history

Revision ID: plan0006
Revises: plan0005
Create Date: 2026-12-07 10:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'plan0006'
down_revision = 'plan0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_on', sa.Date(), nullable=True))
    with op.batch_alter_table('plan_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('destroyed_on', sa.Date(), nullable=True))
    op.create_table('privacy_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.Column('by_name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_records'))
    )
    with op.batch_alter_table('privacy_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_records_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_records_plan_id'), ['plan_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('privacy_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_records_plan_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_records_institution_id'))
    op.drop_table('privacy_records')
    with op.batch_alter_table('plan_documents', schema=None) as batch_op:
        batch_op.drop_column('destroyed_on')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('anonymised_on')
