"""customer and product full-text search; active/archived rows by name for keyset pages

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 01:20:00

"""
from alembic import op
import sqlalchemy as sa

from apunto_fact import fulltext


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

WHERE = {"active": "archived_at IS NULL", "archived": "archived_at IS NOT NULL"}


def upgrade():
    # Plain CREATE/DROP INDEX, not batch_alter_table: on SQLite a table rebuild would drop
    # the search triggers (fulltext.install docstring).
    for table in ("customers", "products"):
        # SQLite's planner preferred it to any ordered index, then sorted every active row.
        op.drop_index(f'ix_{table}_archived_at', table_name=table)
        for kind, where in WHERE.items():
            op.create_index(f'ix_{table}_{kind}_name', table, ['name', 'id'], unique=False,
                            sqlite_where=sa.text(where), postgresql_where=sa.text(where))
    fulltext.install_catalogs(op.get_bind())


def downgrade():
    fulltext.uninstall_catalogs(op.get_bind())
    for table in ("products", "customers"):
        for kind, where in WHERE.items():
            op.drop_index(f'ix_{table}_{kind}_name', table_name=table,
                          sqlite_where=sa.text(where), postgresql_where=sa.text(where))
        op.create_index(f'ix_{table}_archived_at', table, ['archived_at'], unique=False)
