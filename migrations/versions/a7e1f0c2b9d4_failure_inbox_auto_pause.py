"""failure inbox: auto-pause columns on action, action_run index by action (SPEC E10)

Revision ID: a7e1f0c2b9d4
Revises: a7c3e91f5d20
Create Date: 2026-11-30 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e1f0c2b9d4'
down_revision = 'a7c3e91f5d20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure_streak', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_failed_run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('action_run', schema=None) as batch_op:
        batch_op.create_index('ix_action_run_action', ['action_id', 'id'], unique=False)


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+), not batch mode: see the flow versions migration.
    op.drop_index('ix_action_run_action', table_name='action_run')
    for column in ('paused_at', 'last_failed_run_id', 'failure_streak'):
        op.drop_column('action', column)
