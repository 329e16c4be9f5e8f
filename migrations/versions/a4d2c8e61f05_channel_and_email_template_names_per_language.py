"""Channels and email templates get names per language (name_i18n), like types, states and activity types

Revision ID: a4d2c8e61f05
Revises: a4c2e8f1b7d3
Create Date: 2026-11-30 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4d2c8e61f05'
down_revision = 'a4c2e8f1b7d3'
branch_labels = None
depends_on = None

TABLES = ('channel', 'email_template')


def upgrade():
    # Existing rows get no translations: their name shows in every language, as before.
    for table in TABLES:
        op.add_column(table, sa.Column('name_i18n', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('name_i18n')
