"""index task_status_change(run_id, id) for the history's Tasks tab

Revision ID: b7e4a1c93d52
Revises: 61194d34bf23
Create Date: 2026-11-30 06:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7e4a1c93d52'
down_revision = '61194d34bf23'
branch_labels = None
depends_on = None


def upgrade():
    # The Tasks tab joins each Complete-tasks run to the status changes it made: without this index every
    # run of the page would read the whole table.
    op.create_index('ix_task_status_change_run', 'task_status_change', ['run_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_task_status_change_run', table_name='task_status_change')
