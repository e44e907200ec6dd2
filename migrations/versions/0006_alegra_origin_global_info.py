"""alegra record origin; InformacionGlobal of invoices; account diagnostic passed

Revision ID: 0006
Revises: 0005

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # Ids stored before this revision were found by trusting a filter's first row: their
    # origin stays NULL and is verified by reading before any update (invoices/sync.py).
    for table in ('customers', 'products'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('alegra_origin', sa.String(length=10), nullable=True))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('global_periodicidad', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('global_meses', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('global_anio', sa.Integer(), nullable=True))
    with op.batch_alter_table('alegra_connection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('diagnostic_ok_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('alegra_connection', schema=None) as batch_op:
        batch_op.drop_column('diagnostic_ok_at')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('global_anio')
        batch_op.drop_column('global_meses')
        batch_op.drop_column('global_periodicidad')
    for table in ('customers', 'products'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('alegra_origin')
