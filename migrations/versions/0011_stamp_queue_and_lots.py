"""stamp queue: invoices.queued_at, bulk stamping lots and their items

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-29 01:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN and CREATE INDEX keep the table (no batch copy): the search triggers stay.
    op.add_column('invoices', sa.Column('queued_at', sa.DateTime(), nullable=True))
    op.create_index('ix_invoices_status_queued', 'invoices', ['status', 'queued_at', 'id'],
                    unique=False)
    op.create_table(
        'stamp_lots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=80), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_stamp_lots_finished_at', 'stamp_lots', ['finished_at'], unique=False)
    op.create_table(
        'stamp_lot_items',
        sa.Column('lot_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('checked_version', sa.Integer(), nullable=False),
        sa.Column('queued_version', sa.Integer(), nullable=True),
        sa.Column('not_queued', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['lot_id'], ['stamp_lots.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('lot_id', 'invoice_id'),
    )
    op.create_index('ix_stamp_lot_items_invoice', 'stamp_lot_items', ['invoice_id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_stamp_lot_items_invoice', table_name='stamp_lot_items')
    op.drop_table('stamp_lot_items')
    op.drop_index('ix_stamp_lots_finished_at', table_name='stamp_lots')
    op.drop_table('stamp_lots')
    op.drop_index('ix_invoices_status_queued', table_name='invoices')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('queued_at')
    from apunto_fact import fulltext
    fulltext.install(op.get_bind())
