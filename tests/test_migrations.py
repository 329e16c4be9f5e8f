"""Migrations build the schema the models describe, on SQLite and PostgreSQL alike."""

import contextlib
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from extensions import db

# Expression indexes (lower(email)) cannot be reflected, so autogenerate skips them with a warning;
# the test checks what they do instead.
EXPRESSION_INDEX_WARNINGS = ("Skipped unsupported reflection of expression-based index",
                             "autogenerate skipping metadata-specified expression-based index")


@contextlib.contextmanager
def _expression_indexes_unreflected():
    """SQLite's batch migrations reflect a table too (to copy it): the same warning, for the same reason."""
    with warnings.catch_warnings():
        for message in EXPRESSION_INDEX_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        yield


def _compare(conn):
    from models.search_index import outside_trigram_indexes

    # The word search's trigram indexes are PostgreSQL-only DDL outside the models (models/search_index.py).
    options = {"include_object": outside_trigram_indexes}
    with _expression_indexes_unreflected():
        return compare_metadata(MigrationContext.configure(conn, opts=options), db.metadata)


def _assert_email_unique_ignoring_case():
    insert = ("INSERT INTO \"user\" (email, name, password_hash, role, timezone, work_start, work_end, work_days,"
              " active, created_at) VALUES ('{}', 'x', 'x', 'agent', 'UTC', '09:00:00', '18:00:00', '12345',"
              " true, '2026-01-01 00:00:00')")
    with db.engine.begin() as conn:
        conn.exec_driver_sql(insert.format("case@example.com"))
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.exec_driver_sql(insert.format("CASE@example.com"))


def test_migrations_match_models(app, database_url):
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        try:
            upgrade(directory="migrations")
            with db.engine.connect() as conn:
                diff = _compare(conn)
            assert diff == [], f"models and migrations differ: {diff}"
            _assert_email_unique_ignoring_case()
            with _expression_indexes_unreflected():
                downgrade(directory="migrations", revision="base")
                upgrade(directory="migrations")
        finally:
            # Leave the schema as the other tests expect it: built from the models.
            db.drop_all()
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            db.create_all()
