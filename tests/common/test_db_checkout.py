"""The pool's checkout check (common.db.watch_checkouts): no round trip for a connection that is fine,
a ping for one idle too long, and a fresh connection in place of one the server closed while it sat
in the pool. What each backend last ran is read from pg_stat_activity: the observable difference."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from common.db import db, watch_checkouts
from tests.worker.test_faults_database import admin_connection

PING = ";"  # what SQLAlchemy's psycopg dialect sends as its ping (an empty query)


@pytest.fixture
def watched(app):
    """An engine of its own on the test database (one pooled connection), with the check installed."""
    engines = []

    def make(idle_seconds: float):
        with app.app_context():
            url = db.engine.url
        engine = create_engine(url, pool_size=1, max_overflow=0)
        watch_checkouts(engine, idle_seconds=idle_seconds)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


def backend_of(engine) -> int:
    with engine.connect() as connection:
        connection.execute(text("SELECT 'checked in after this'"))
        return connection.connection.dbapi_connection.info.backend_pid


def last_query(pid: int) -> str:
    with admin_connection() as admin:
        return admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]


def test_a_connection_back_from_a_recent_request_is_handed_out_without_a_ping(watched):
    engine = watched(idle_seconds=60)
    pid = backend_of(engine)
    assert last_query(pid) != PING
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection.info.backend_pid == pid
        assert last_query(pid) != PING  # checked out, nothing sent yet
        assert connection.execute(text("SELECT 2")).scalar() == 2


def test_a_connection_idle_past_the_bound_is_pinged_first(watched):
    engine = watched(idle_seconds=0.2)
    pid = backend_of(engine)
    time.sleep(0.3)
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection.info.backend_pid == pid
        assert last_query(pid) == PING


def test_a_connection_the_server_closed_in_the_pool_is_replaced_without_an_error(watched):
    engine = watched(idle_seconds=60)  # too long to ping: only its socket can tell
    pid = backend_of(engine)
    with admin_connection() as admin:
        # The timeout makes it wait until the backend has gone (its goodbye is on our socket).
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0] is True
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 3")).scalar() == 3
        assert connection.connection.dbapi_connection.info.backend_pid != pid


def test_the_app_checks_its_own_pool_and_can_be_told_not_to(app):
    from web.app import create_app

    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # the pool then holds exactly the one connection made below
        pid = backend_of(db.engine)
    with admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    with app.app_context():
        assert db.session.execute(text("SELECT 4")).scalar() == 4
        db.session.remove()
    unchecked = create_app({"DB_POOL_PRE_PING": False})
    with unchecked.app_context():
        assert not db.engine.pool.dispatch.checkout  # no listener: a dead connection would fail once
        db.engine.dispose()
