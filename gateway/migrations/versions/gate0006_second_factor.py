"""two-factor sign-in: TOTP secret on users, recovery codes, second-factor failures

Revision ID: gate0006
Revises: gate0005
Create Date: 2026-12-07 10:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'gate0006'
down_revision = 'gate0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=200), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)
    op.create_table('second_factor_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_second_factor_failures_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_second_factor_failures'))
    )
    with op.batch_alter_table('second_factor_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_second_factor_failures_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_second_factor_failures_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('second_factor_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_second_factor_failures_user_id'))
        batch_op.drop_index(batch_op.f('ix_second_factor_failures_at'))
    op.drop_table('second_factor_failures')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
