"""Flow versions (D12): the flow_change audit, the type's config version and the version each run ran with

Revision ID: a7c3e91f5d20
Revises: e5a91c04b7d2
Create Date: 2026-11-30 16:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91f5d20'
down_revision = 'e5a91c04b7d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('flow_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('entity', sa.String(length=30), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('operation', sa.String(length=10), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['type_id'], ['opportunity_type.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('flow_change', schema=None) as batch_op:
        batch_op.create_index('ix_flow_change_type', ['type_id', 'id'], unique=False)
        batch_op.create_index('ix_flow_change_entity', ['entity', 'entity_id', 'id'], unique=False)
    with op.batch_alter_table('opportunity_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('action_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_version', sa.Integer(), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+), not batch mode: a batch copy of the table would rewrite its column
    # foreign keys as table constraints, which older downgrades' DROP COLUMN of those columns then trips on.
    op.drop_column('action_run', 'config_version')
    op.drop_column('opportunity_type', 'config_version')
    with op.batch_alter_table('flow_change', schema=None) as batch_op:
        batch_op.drop_index('ix_flow_change_entity')
        batch_op.drop_index('ix_flow_change_type')
    op.drop_table('flow_change')
