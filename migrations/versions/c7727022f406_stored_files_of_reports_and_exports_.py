"""Stored files of reports and exports; report template orientation

Revision ID: c7727022f406
Revises: fee791f9c9e5
Create Date: 2026-11-22 11:13:41.188514

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7727022f406'
down_revision = 'fee791f9c9e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunity.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['action_run.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.create_index('ix_stored_file_opportunity', ['opportunity_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stored_file_run_id'), ['run_id'], unique=False)

    with op.batch_alter_table('report_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('orientation', sa.String(length=10), server_default='portrait', nullable=False))


def downgrade():
    with op.batch_alter_table('report_template', schema=None) as batch_op:
        batch_op.drop_column('orientation')

    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_file_run_id'))
        batch_op.drop_index('ix_stored_file_opportunity')

    op.drop_table('stored_file')
