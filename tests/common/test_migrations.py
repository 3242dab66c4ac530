"""The Alembic history matches the models and upgrades/downgrades cleanly on PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from common.db import db
from tests.conftest import TEST_DATABASE_URL


@pytest.fixture
def scratch_url():
    url = make_url(TEST_DATABASE_URL).set(database=make_url(TEST_DATABASE_URL).database + "_scratch")
    admin = url.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{url.database}"')
    yield url.set(drivername="postgresql+psycopg")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    # Expression indexes are compared as text and always differ cosmetically.
    expression_indexes = {"ix_courses_search", "ix_posts_search", "ix_users_email_trgm", "ix_users_name_trgm"}
    real = [
        d for d in diff if not (d[0] in ("add_index", "remove_index") and d[1].name in expression_indexes)
    ]
    assert real == []


def test_upgrade_and_downgrade_base_on_empty_postgres(app, scratch_url):
    from web.app import create_app

    other = create_app({"SQLALCHEMY_DATABASE_URI": scratch_url.render_as_string(hide_password=False)})
    with other.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "users",
            "courses",
            "payments",
            "webhook_events",
            "certificates",
            "jobs",
            "audit_log",
        } <= tables
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("courses")}
        assert "ix_courses_search" in indexes
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
        db.engine.dispose()
    create_engine(scratch_url).dispose()
