"""directory change notices: NOTIFY on any change to users or organisations

Gateway processes cache session users and drop the cache on these notices
(``gateway/session_cache.py``). A statement trigger catches every change, ORM or raw SQL.

Revision ID: gate0002
Revises: gate0001
Create Date: 2026-11-23 14:45:00
"""
from alembic import op


revision = 'gate0002'
down_revision = 'gate0001'
branch_labels = None
depends_on = None

TABLES = ("users", "organisations")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION rac_notify_directory_changed() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('rac_directory_changed', TG_TABLE_NAME);
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION rac_notify_directory_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS rac_notify_directory_changed()")
