"""invoice full-text search, keyset indexes, shared Alegra rate budget

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-28 22:20:00

"""
from alembic import op
import sqlalchemy as sa

from apunto_fact import fulltext


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alegra_budget',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('reset_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_alegra_budget'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_status_date')
        batch_op.create_index('ix_invoices_status_date', ['status', 'date', 'id'], unique=False)
        batch_op.create_index('ix_invoices_date_id', ['date', 'id'], unique=False)
        batch_op.create_index('ix_invoices_customer_date', ['customer_id', 'date', 'id'],
                              unique=False)
    # After the batch block: on SQLite it may rebuild the table, which drops triggers.
    fulltext.install(op.get_bind())


def downgrade():
    fulltext.uninstall(op.get_bind())
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_customer_date')
        batch_op.drop_index('ix_invoices_date_id')
        batch_op.drop_index('ix_invoices_status_date')
        batch_op.create_index('ix_invoices_status_date', ['status', 'date'], unique=False)
    op.drop_table('alegra_budget')
