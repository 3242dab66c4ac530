"""Test fixtures: a fresh PostgreSQL database migrated by Alembic, real Redis, a real Celery worker.

TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/coursehub_test) names a database
that is dropped and re-created for the session; TEST_REDIS_URL (default redis://127.0.0.1:6379/15)
is flushed before every test. Each test starts from empty tables.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/coursehub_test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _recreate_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def _test_env(tmp_root: Path) -> dict:
    return {
        "APP_ENV": "test",
        "DATABASE_URL": TEST_DATABASE_URL,
        "REDIS_URL": TEST_REDIS_URL,
        "CELERY_BROKER_URL": TEST_REDIS_URL,
        "SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
        "JWT_SECRET_KEY": "test-jwt-secret-0123456789abcdef0123456789",
        "INSTANCE_DIR": str(tmp_root / "instance"),
        "STORAGE_DIR": str(tmp_root / "storage"),
        "CORS_ORIGINS": "http://localhost:3000,https://app.example.com",
        "PUBLIC_BASE_URL": "http://testserver.local",
        "RAZORPAY_KEY_ID": "rzp_test_suite",
        "RAZORPAY_KEY_SECRET": "suite-key-secret",
        "RAZORPAY_WEBHOOK_SECRET": "suite-webhook-secret",
    }


@pytest.fixture(scope="session")
def test_env(tmp_path_factory):
    env = _test_env(tmp_path_factory.mktemp("run"))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def app(test_env):
    """The app under test on PostgreSQL + Redis; the schema comes from the Alembic migrations."""
    from flask_migrate import upgrade

    from web.app import create_app

    _recreate_database(TEST_DATABASE_URL)
    application = create_app()
    with application.app_context():
        upgrade()
        from common.db import db

        db.session.remove()
    return application


@pytest.fixture(scope="session")
def _table_names(app):
    from common.db import db

    return [t.name for t in db.metadata.sorted_tables]


@pytest.fixture(autouse=True)
def clean_state(request, app, _table_names):
    """Every test starts with empty tables, an empty Redis database and a fresh app context."""
    from common.cache import cache
    from common.db import db

    # Tests that build a second app make its Celery app the default; bind tasks to ours again.
    celery = app.extensions["celery"]
    celery.set_default()
    celery.set_current()
    with app.app_context():
        db.session.execute(text("TRUNCATE " + ", ".join(_table_names) + " RESTART IDENTITY CASCADE"))
        db.session.commit()
        cache.flush()
        # The limiter's counts kept in the process mirror counters that flush just deleted.
        app.extensions["ratelimit"].shared.forget()
        from common.gamification.service import ensure_badges

        ensure_badges()
        db.session.remove()
    ctx = app.app_context()
    ctx.push()
    yield
    db.session.remove()
    ctx.pop()


@pytest.fixture
def redis_calls(monkeypatch):
    """Every command any redis-py client sends (the cache's and the limiter's), in order."""
    import redis

    calls: list[str] = []
    original = redis.Redis.execute_command

    def counting(self, *args, **options):
        calls.append(str(args[0]))
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    return calls


@pytest.fixture
def db_session(app):
    from common.db import db

    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def celery_worker(app):
    """A real Celery worker consuming every queue from the Redis broker, in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    celery = app.extensions["celery"]
    queues = ",".join(q.name for q in celery.conf.task_queues)
    with start_worker(
        celery,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=queues.split(","),
        shutdown_timeout=10,
    ) as worker:
        yield worker


from tests.factories import *  # noqa: E402,F401,F403  (factories are fixtures too)
