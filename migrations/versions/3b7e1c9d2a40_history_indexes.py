"""History at scale: indexes that let each tab's filters walk newest first and stop at one page (issue 6)

Revision ID: 3b7e1c9d2a40
Revises: 58947a7f7665
Create Date: 2026-11-22 13:30:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '3b7e1c9d2a40'
down_revision = '58947a7f7665'
branch_labels = None
depends_on = None

INDEXES = [
    ('action_run', 'ix_action_run_kind_status', ['kind', 'status', 'id']),
    ('action_run', 'ix_action_run_kind_opportunity', ['kind', 'opportunity_id', 'id']),
    ('outgoing_email', 'ix_outgoing_email_status_run', ['status', 'run_id', 'id']),
    ('outgoing_email', 'ix_outgoing_email_template_run', ['template_name', 'run_id', 'id']),
    ('outgoing_email', 'ix_outgoing_email_credentials_run', ['credentials_name', 'run_id', 'id']),
    ('outgoing_email', 'ix_outgoing_email_kind_template', ['kind', 'template_name']),
    ('outgoing_email', 'ix_outgoing_email_kind_credentials', ['kind', 'credentials_name']),
    ('activity', 'ix_activity_type_run', ['type_id', 'run_id']),
    ('assignment', 'ix_assignment_company_run', ['company_id', 'run_id']),
    ('assignment', 'ix_assignment_status_run', ['status', 'run_id']),
]


def upgrade():
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    for table, name, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
