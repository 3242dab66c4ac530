"""Counting the SQL statements a block of code sends (SQLAlchemy's before_cursor_execute)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from common.db import db


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """The statements sent to the database inside the block, in order (one per cursor execute)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
