"""login failures by address: an index for counting an address's failures across accounts

Login throttling (gateway/throttling.py) refuses an address that failed too often within
the window, whatever the accounts tried.

Revision ID: gate0004
Revises: gate0003
Create Date: 2026-12-07 10:00:00
"""

from alembic import op


revision = "gate0004"
down_revision = "gate0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_ip_at", ["ip", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_ip_at")
