"""indexes for the history's sorts at a million runs (issue 16)

Revision ID: e5a91c04b7d2
Revises: 7f3c2a9d1e04
Create Date: 2026-11-30 17:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5a91c04b7d2'
down_revision = '7f3c2a9d1e04'
branch_labels = None
depends_on = None


def upgrade():
    # A tab sorted by date walks its kind's runs in date order; sorted by opportunity, the names in the
    # case-insensitive order the history shows (services/history/sorted_page.py).
    with op.batch_alter_table('action_run', schema=None) as batch_op:
        batch_op.create_index('ix_action_run_kind_created', ['kind', 'created_at', 'id'], unique=False)
    op.create_index('ix_opportunity_name_lower', 'opportunity', [sa.text('lower(name)'), 'id'], unique=False)


def downgrade():
    op.drop_index('ix_opportunity_name_lower', table_name='opportunity')
    with op.batch_alter_table('action_run', schema=None) as batch_op:
        batch_op.drop_index('ix_action_run_kind_created')
