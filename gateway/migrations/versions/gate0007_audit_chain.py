"""audit trail: the audit log becomes a hash-chained ledger of requests, facts and readings

Adds what a fact says (subject, summary, before → after, the event it came from), the
chain (seq, prev_hash, hash) and its head row; the rows already there are chained in
their order, as requests of the gateway.

Revision ID: gate0007
Revises: gate0006
Create Date: 2026-12-07 11:00:00
"""
from types import SimpleNamespace

from alembic import op
import sqlalchemy as sa


revision = 'gate0007'
down_revision = 'gate0006'
branch_labels = None
depends_on = None

COLUMNS = ('id', 'at', 'user_id', 'organisation_id', 'method', 'path', 'action', 'status', 'ip', 'correlation_id')


def upgrade() -> None:
    from gateway.audit import GENESIS, entry_hash

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('actor_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('subject_type', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('subject_label', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('changes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('event_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('method', existing_type=sa.String(length=10), nullable=True)
        batch_op.alter_column('path', existing_type=sa.String(length=500), nullable=True)
        batch_op.alter_column('status', existing_type=sa.Integer(), nullable=True)

    bind = op.get_bind()
    log = sa.table('audit_log', *(sa.column(c) for c in COLUMNS + ('seq', 'kind', 'source', 'prev_hash', 'hash')))
    rows = bind.execute(sa.select(*(log.c[c] for c in COLUMNS)).order_by(log.c.id)).all()
    prev, seq = GENESIS, 0
    for row in rows:
        seq += 1
        entry = SimpleNamespace(
            **dict(row._mapping), seq=seq, kind='request', source='gateway', actor_name=None,
            subject_type=None, subject_id=None, subject_label=None, summary=None, changes=None,
            event_id=None,
        )
        digest = entry_hash(entry, prev)
        bind.execute(
            log.update().where(log.c.id == row.id).values(
                seq=seq, kind='request', source='gateway', prev_hash=prev, hash=digest
            )
        )
        prev = digest

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('kind', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('source', existing_type=sa.String(length=30), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_seq'), ['seq'])
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_event_id'), ['event_id'])
        batch_op.create_index(batch_op.f('ix_audit_log_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_correlation_id'), ['correlation_id'], unique=False)
        batch_op.create_index('ix_audit_log_subject', ['subject_type', 'subject_id'], unique=False)

    head = op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.bulk_insert(head, [{'id': 1, 'seq': seq, 'hash': prev}])


def downgrade() -> None:
    op.drop_table('audit_chain_head')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_subject')
        batch_op.drop_index(batch_op.f('ix_audit_log_correlation_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_kind'))
        batch_op.drop_constraint(batch_op.f('uq_audit_log_event_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_audit_log_seq'), type_='unique')
        for column in ('hash', 'prev_hash', 'event_id', 'changes', 'summary', 'subject_label',
                       'subject_id', 'subject_type', 'actor_name', 'source', 'kind', 'seq'):
            batch_op.drop_column(column)
