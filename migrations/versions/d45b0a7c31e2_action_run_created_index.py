"""index action_run.created_at for the flow dashboard's period

Revision ID: d45b0a7c31e2
Revises: 531078939060
Create Date: 2026-11-30 14:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd45b0a7c31e2'
down_revision = '531078939060'
branch_labels = None
depends_on = None


def upgrade():
    # The flow dashboard reads one period's runs (7/30/90 days) through it instead of every run of a type.
    with op.batch_alter_table('action_run', schema=None) as batch_op:
        batch_op.create_index('ix_action_run_created', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('action_run', schema=None) as batch_op:
        batch_op.drop_index('ix_action_run_created')
