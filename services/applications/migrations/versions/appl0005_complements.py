"""demande de compléments: the items an analyst asks for during admissibility

An application may be « Compléments demandés » (status ``complements``): each request, its
named items, the institution's answer and the resumption of the analysis are kept.

Revision ID: appl0005
Revises: appl0004
Create Date: 2026-12-07 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'appl0005'
down_revision = 'appl0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('complement_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('extensions', sa.JSON(), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_name', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_name', sa.String(length=200), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_comment', sa.Text(), nullable=True),
    sa.Column('resumed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('resumed_by_name', sa.String(length=200), nullable=True),
    sa.Column('resumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resume_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_complement_requests_application_id_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complement_requests')),
    sa.UniqueConstraint('application_id', 'number', name=op.f('uq_complement_requests_application_id'))
    )
    with op.batch_alter_table('complement_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complement_requests_application_id'), ['application_id'], unique=False)

    op.create_table('complement_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('piece_kind', sa.String(length=30), nullable=True),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('previous_text', sa.Text(), nullable=True),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('provided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('provided_by_name', sa.String(length=200), nullable=True),
    sa.Column('provided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_complement_items_attachment_id_attachments')),
    sa.ForeignKeyConstraint(['question_id'], ['form_questions.id'], name=op.f('fk_complement_items_question_id_form_questions')),
    sa.ForeignKeyConstraint(['request_id'], ['complement_requests.id'], name=op.f('fk_complement_items_request_id_complement_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complement_items'))
    )
    with op.batch_alter_table('complement_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complement_items_request_id'), ['request_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complement_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complement_items_request_id'))
    op.drop_table('complement_items')
    with op.batch_alter_table('complement_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complement_requests_application_id'))
    op.drop_table('complement_requests')
