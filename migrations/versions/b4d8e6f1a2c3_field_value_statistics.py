"""Extended statistics on custom field values (PostgreSQL only; see models/search_index.py)

Revision ID: b4d8e6f1a2c3
Revises: a7e1f0c2b9d4
Create Date: 2026-11-30 22:00:00

"""
from alembic import op

from models.search_index import FIELD_STATISTICS, create_field_statistics

# revision identifiers, used by Alembic.
revision = 'b4d8e6f1a2c3'
down_revision = 'a7e1f0c2b9d4'
branch_labels = None
depends_on = None


def upgrade():
    if create_field_statistics(op.get_bind()):
        op.execute("ANALYZE field_value")  # the statistics are empty until the next analyze


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, _columns in FIELD_STATISTICS:
            op.execute(f"DROP STATISTICS IF EXISTS {name}")
