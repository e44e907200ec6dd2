"""document version, problem reference and stamp attempt history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 22:30:00

Every invoice gets a version (optimistic concurrency) and keeps every stamp attempt's marker
in stamp_attempts, so reconcile can search all of them; the single attempt_marker column
moves there.
"""
from alembic import op
import sqlalchemy as sa

import apunto_fact.dbtypes  # noqa: F401  (custom column types)


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stamp_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_type', sa.String(length=30), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('marker', sa.String(length=40), nullable=False),
        sa.Column('lookup', sa.Text(), nullable=True),
        sa.Column('owner', sa.String(length=200), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('posted_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('outcome', sa.String(length=20), nullable=True),
        sa.Column('alegra_id', sa.String(length=40), nullable=True),
        sa.Column('uuid', sa.String(length=36), nullable=True),
        sa.Column('total', apunto_fact.dbtypes.Money(), nullable=True),
        sa.Column('void_status', sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stamp_attempts')),
        sa.UniqueConstraint('marker', name=op.f('uq_stamp_attempts_marker')),
    )
    op.create_index('ix_stamp_attempts_document', 'stamp_attempts',
                    ['document_type', 'document_id'], unique=False)
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('problem_ref', sa.String(length=40), nullable=True))
    # Keep the marker of every attempt made before this version (it may still be in Alegra).
    op.execute(
        "INSERT INTO stamp_attempts (document_type, document_id, version, marker, lookup, "
        "started_at, outcome, alegra_id, uuid) "
        "SELECT 'invoice', id, version, attempt_marker, NULL, "
        "COALESCE(attempt_started_at, updated_at), "
        "CASE WHEN uuid IS NOT NULL THEN 'stamped' ELSE NULL END, alegra_id, uuid "
        "FROM invoices WHERE attempt_marker IS NOT NULL")
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_invoices_attempt_marker', type_='unique')
        batch_op.drop_column('attempt_marker')
        batch_op.drop_column('attempt_started_at')


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt_started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempt_marker', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint('uq_invoices_attempt_marker', ['attempt_marker'])
    op.execute(
        "UPDATE invoices SET attempt_marker = (SELECT marker FROM stamp_attempts a WHERE "
        "a.document_type = 'invoice' AND a.document_id = invoices.id ORDER BY a.id DESC "
        "LIMIT 1)")
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('problem_ref')
        batch_op.drop_column('version')
    op.drop_index('ix_stamp_attempts_document', table_name='stamp_attempts')
    op.drop_table('stamp_attempts')
