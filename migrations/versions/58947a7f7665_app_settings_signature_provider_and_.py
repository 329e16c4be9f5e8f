"""App settings (signature provider) and unique email ignoring case

Revision ID: 58947a7f7665
Revises: 518337083964
Create Date: 2026-11-22 12:54:00.510159

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '58947a7f7665'
down_revision = '518337083964'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('app_setting',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    # Autogenerate cannot compare expression indexes; written by hand (models.accounts).
    op.create_index('uq_user_email_lower', 'user', [sa.text('lower(email)')], unique=True)


def downgrade():
    op.drop_index('uq_user_email_lower', table_name='user')
    op.drop_table('app_setting')
