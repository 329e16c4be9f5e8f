"""Migrations build the schema the models describe, on SQLite and PostgreSQL alike."""

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


def _compare(conn):
    with warnings.catch_warnings():
        for message in EXPRESSION_INDEX_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        return compare_metadata(MigrationContext.configure(conn), db.metadata)


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
            downgrade(directory="migrations", revision="base")
            upgrade(directory="migrations")
        finally:
            # Leave the schema as the other tests expect it: built from the models.
            db.drop_all()
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            db.create_all()
