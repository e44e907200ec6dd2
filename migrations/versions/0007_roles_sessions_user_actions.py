"""roles, session versions, first-run marker and user actions

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Accounts created before roles existed had every power: they become owners.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=20), nullable=False,
                                      server_default='dueno'))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False,
                                      server_default='1'))
    op.create_table(
        'first_run',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    # An instance that already has accounts has had its first run.
    op.execute("INSERT INTO first_run (id, at) SELECT 1, MIN(created_at) FROM users "
               "HAVING COUNT(*) > 0")
    op.create_table(
        'user_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('action', sa.String(length=80), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('user_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_actions_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_actions_invoice_id'), ['invoice_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('user_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_actions_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_user_actions_at'))
    op.drop_table('user_actions')
    op.drop_table('first_run')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
        batch_op.drop_column('active')
        batch_op.drop_column('role')
