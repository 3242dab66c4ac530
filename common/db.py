"""SQLAlchemy declarative base with a naming convention, the shared `db` handle and column helpers."""

from __future__ import annotations

import select as io_select
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache, wraps

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, bindparam, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

from common.errors import not_found

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)


def init_db(app) -> None:
    """Bind `db` to the app and, on PostgreSQL with DB_POOL_PRE_PING, check pooled connections at checkout."""
    db.init_app(app)
    if app.config["DB_POOL_PRE_PING"]:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                watch_checkouts(db.engine, idle_seconds=app.config["DB_POOL_PING_IDLE_SECONDS"])


def watch_checkouts(engine: Engine, *, idle_seconds: float) -> None:
    """Hand out only live connections, pinging one only when there is a reason to doubt it.

    Why not SQLAlchemy's pool_pre_ping: it pings on every checkout, a round trip that cost an
    authenticated read about a fifth of its CPU (bench/results/HISTORY-100k.md). A connection the
    server ended while it sat in the pool (a restart, pg_terminate_backend, an idle timeout) has
    the server's goodbye or end-of-file waiting on its socket, which a zero-timeout poll() sees
    without a round trip; a connection idle for `idle_seconds` or more (the server may have gone
    away silently, e.g. a failover) gets the real ping. A failed ping invalidates the whole pool and
    reconnects, exactly as pool_pre_ping does, so the request after a database restart succeeds.
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        idle = time.monotonic() - record.info.get("idle_since", float("-inf"))
        if idle < idle_seconds and not _server_spoke(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise InvalidatePoolError(f"pooled connection failed its ping: {exc}") from exc


def _server_spoke(dbapi_connection) -> bool:
    """Whether a pooled (idle) psycopg connection is closed or has bytes from the server waiting."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    poller = io_select.poll()
    poller.register(dbapi_connection.fileno(), io_select.POLLIN)
    return bool(poller.poll(0))


def utcnow() -> datetime:
    return datetime.now(UTC)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(default=utcnow, server_default=func.now(), nullable=False)


@contextmanager
def unit_of_work():
    """Commit what the block did, or roll it back (releasing row and advisory locks) on any error.

    A `return` inside the block commits too. Not `with db.session.begin():` because that refuses a
    session that has already begun a transaction ("A transaction is already begun"), and the session
    begins one at its first query: our units of work mostly follow a read (the row to check, the
    course to price), whose transaction they then finish.
    """
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def built_once(fn=None, *, maxsize: int | None = None):
    """`functools.lru_cache` for functions that build a statement, finishing each build before
    another thread can start the same one.

    functools' caches run the function again when a thread asks while the first call is still
    building, and keep whichever result comes last; SQLAlchemy has compiled the other one by then,
    and for an equal statement that is not the object it compiled, it re-maps the result columns on
    every execution (CursorResultMetaData._adapt_to_context). Calls hold a lock around the cached
    lookup (uncontended: well under a microsecond).
    """

    def decorator(builder):
        cached = lru_cache(maxsize=maxsize)(builder)
        lock = threading.RLock()

        @wraps(builder)
        def wrapper(*args, **kwargs):
            with lock:
                return cached(*args, **kwargs)

        return wrapper

    return decorator(fn) if fn is not None else decorator


def execute(statement, params=None):
    """Run a statement of columns, not entities, in the Session's transaction on its connection.

    For the hot write paths (quiz attempt, lesson completion, XP award): the Session's ORM execution
    layer (compile state, bulk-update bookkeeping, a fresh cache key for every ORM UPDATE) cost more
    than many of their statements. The transaction is the Session's, so `unit_of_work` commits or
    rolls it back as usual; pending ORM changes are flushed first, as Session.execute's autoflush
    would. An ORM UPDATE run here does not refresh objects already loaded (the commit expires them).
    """
    session = db.session()
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def end_read() -> None:
    """End a transaction that wrote nothing with COMMIT rather than ROLLBACK (same one round trip).

    psycopg forgets its prepared statements on every rollback, so reads that end in a rollback
    (as the session teardown would) re-plan their queries on every request; after a commit the
    hot queries stay prepared on the connection and PostgreSQL reuses their plans.
    """
    db.session.commit()


class UpdatedAtMixin:
    """An `updated_at` stamp: set on insert, bumped by every ORM update of the row.

    Bulk UPDATE statements bypass the ORM's onupdate only when they set the column themselves
    (e.g. reconcile's bookkeeping stamp keeps it as it was).
    """

    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())


def get_owned(model, key, *, user_id: int | None, is_admin: bool, owner: str = "user_id"):
    """The row if the caller owns it (its `owner` column is `user_id`) or is an admin; NotFound
    otherwise, the same answer as for a row that does not exist (never leak existence)."""
    row = db.session.get(model, key)
    if row is None or not (is_admin or getattr(row, owner) == user_id):
        raise not_found(model.__name__, key)
    return row


LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally (use escape=LIKE_ESCAPE)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def insert_ignore(model, **values) -> bool:
    """INSERT that silently does nothing on a unique conflict; True if a row was inserted.

    Safe under concurrency on PostgreSQL (ON CONFLICT DO NOTHING) and SQLite (INSERT OR IGNORE
    semantics through the same clause). Runs in the caller's transaction.
    """
    stmt = _insert_ignore_stmt(model.__table__, tuple(values), is_postgres())
    return execute(stmt, {f"v_{name}": value for name, value in values.items()}).first() is not None


@built_once(maxsize=64)
def _insert_ignore_stmt(table, columns: tuple[str, ...], postgres: bool):
    # Built once per table and column set, with bound parameters: building and keying the statement
    # cost more than running it. On the table, not the mapped class: the ORM's bulk-insert path cost
    # more than the statement. RETURNING rather than rowcount: SQLAlchemy may add its own RETURNING.
    if postgres:
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    primary_key = next(iter(table.primary_key.columns))
    values = {name: bindparam(f"v_{name}") for name in columns}
    return insert(table).values(values).on_conflict_do_nothing().returning(primary_key)


@contextmanager
def read_connection():
    """A pooled connection in autocommit for a read-only request, without the ORM Session.

    For hot reads whose statements return plain rows (columns, not entities): the Session's
    transaction bookkeeping cost more than such a query (about 0.2 ms each). It sees only committed
    data, so it is not for statements inside a unit of work. Each statement takes its own snapshot,
    as under READ COMMITTED with read_without_transaction.
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection


def read_without_transaction() -> None:
    """Run the rest of this read-only unit of work's statements outside a transaction (autocommit).

    A read that writes nothing gains nothing from BEGIN ... COMMIT under READ COMMITTED (each
    statement takes its own snapshot either way) but pays a round trip for each. Call it before the
    unit's first statement; if the session is already in a transaction, it changes nothing.
    """
    if db.session().in_transaction() or not is_postgres():
        return
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
