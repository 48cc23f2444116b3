"""the data generation: one row bumped by PostgreSQL at each commit that changes data

Replies of the busiest lists (invoices, credit notes) are kept while it is unchanged
(rac_shared/reply_cache.py), as in the plans (plan0010) and applications (appl0007) databases.
A deferred constraint trigger on every data table bumps it once per transaction, at
commit; the outbox, processed events, job runs and tasks change no list and carry none.

Revision ID: bill0009
Revises: bill0008
Create Date: 2026-12-07 23:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'bill0009'
down_revision = 'bill0008'
branch_labels = None
depends_on = None

# Tables whose rows no list shows (frozen here: a later table gets its trigger in its own
# migration, which tests/integration/test_migrations_match_models.py asks for).
UNTRACKED = {'alembic_version', 'data_generation', 'outbox', 'processed_events', 'job_runs',
             'billing_tasks'}

BUMP = """
CREATE OR REPLACE FUNCTION rac_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('rac.generation_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE data_generation SET n = n + 1 WHERE id = 1;
        PERFORM set_config('rac.generation_bumped', txid_current()::text, true);
    END IF;
    RETURN NULL;
END $$
"""


def _tracked() -> list[str]:
    names = sa.inspect(op.get_bind()).get_table_names()
    return sorted(name for name in names if name not in UNTRACKED)


def upgrade() -> None:
    op.create_table(
        'data_generation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_generation')),
    )
    op.execute("INSERT INTO data_generation (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite: one process, no kept replies (read_generation answers None)
    op.execute(BUMP)
    for table in _tracked():
        op.execute(
            f"CREATE CONSTRAINT TRIGGER data_generation_bump AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"EXECUTE FUNCTION rac_bump_generation()"
        )
        op.execute(
            f"CREATE TRIGGER data_generation_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION rac_bump_generation()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in _tracked():
            op.execute(f"DROP TRIGGER IF EXISTS data_generation_bump ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS data_generation_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS rac_bump_generation()")
    op.drop_table('data_generation')
