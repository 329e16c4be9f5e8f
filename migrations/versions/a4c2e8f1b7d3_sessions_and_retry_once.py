"""Server-side login sessions (logout ends them) and the one retry of a failed run (issue 10)

Revision ID: a4c2e8f1b7d3
Revises: 3b7e1c9d2a40
Create Date: 2026-11-30 03:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4c2e8f1b7d3'
down_revision = '3b7e1c9d2a40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_agent', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)
    # SQLite: a plain ADD COLUMN with its reference (allowed for a nullable column), where a batch copy
    # would rewrite the biggest table, every run. No ON DELETE: SQLite cannot reflect it on an added
    # column, and runs go only with their opportunity, original and retry together.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE action_run ADD COLUMN retried_by_id INTEGER REFERENCES action_run (id)')
    else:
        op.add_column('action_run', sa.Column('retried_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_action_run_retried_by_id_action_run', 'action_run', 'action_run',
                              ['retried_by_id'], ['id'])


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_action_run_retried_by_id_action_run', 'action_run', type_='foreignkey')
    op.drop_column('action_run', 'retried_by_id')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))
    op.drop_table('user_session')
