"""Trigram indexes for the opportunity list's word search (PostgreSQL only; see models/search_index.py)

Revision ID: 7f3c2a9d1e04
Revises: 033a0ab978c8
Create Date: 2026-11-30 17:05:00

"""
from alembic import op

from models.search_index import TRIGRAM_INDEXES, create_trigram_indexes

# revision identifiers, used by Alembic.
revision = '7f3c2a9d1e04'
down_revision = '033a0ab978c8'
branch_labels = None
depends_on = None


def upgrade():
    create_trigram_indexes(op.get_bind())


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _column in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
