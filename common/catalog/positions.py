"""Dense, unique sibling positions (modules in a course, lessons in a module) kept by bulk UPDATEs.

The unique (parent, position) constraints are checked per row on PostgreSQL, so shifting a block
of siblings by one in a single UPDATE can collide with itself half-way. Every shift therefore
moves the block far out of range first and then back to its final place; positions stay >= 0
throughout (a CHECK constraint forbids negative ones). The same two statements work on SQLite.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from common.db import db

# Far above any real position: siblings are counted in tens, not millions.
_OFFSET = 1_000_000
# Where a moving row waits while its siblings shift; above every shifted value.
_PARKED = 2_000_000_000


def sibling_count(model, parent_col, parent_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(model).where(parent_col == parent_id)
    ).scalar_one()


def _shift(model, parent_col, parent_id: int, lo: int, hi: int | None, delta: int) -> None:
    """Add `delta` to the position of every sibling with lo <= position <= hi (hi None: no bound)."""
    in_range = [parent_col == parent_id, model.position >= lo]
    if hi is not None:
        in_range.append(model.position <= hi)
    moved = [parent_col == parent_id, model.position >= lo + _OFFSET, model.position < _PARKED]
    if hi is not None:
        moved.append(model.position <= hi + _OFFSET)
    opts = {"synchronize_session": False}
    db.session.execute(
        update(model).where(*in_range).values(position=model.position + _OFFSET).execution_options(**opts)
    )
    db.session.execute(
        update(model)
        .where(*moved)
        .values(position=model.position - _OFFSET + delta)
        .execution_options(**opts)
    )


def open_slot(model, parent_col, parent_id: int, position: int | None) -> int:
    """Make room at `position` (None or past the end: append); returns the position to insert at."""
    count = sibling_count(model, parent_col, parent_id)
    if position is None or position >= count:
        return count
    _shift(model, parent_col, parent_id, position, None, +1)
    return position


def close_gap(model, parent_col, parent_id: int, position: int) -> None:
    """Pull every sibling after a removed `position` back by one."""
    _shift(model, parent_col, parent_id, position + 1, None, -1)


def move(model, parent_col, parent_id: int, row_id: int, old: int, new: int) -> int:
    """Move one row from `old` to `new` (clamped to the last slot); returns the final position."""
    last = sibling_count(model, parent_col, parent_id) - 1
    new = max(0, min(new, last))
    if new == old:
        return old
    opts = {"synchronize_session": False}
    db.session.execute(
        update(model).where(model.id == row_id).values(position=_PARKED).execution_options(**opts)
    )
    if new > old:
        _shift(model, parent_col, parent_id, old + 1, new, -1)
    else:
        _shift(model, parent_col, parent_id, new, old - 1, +1)
    db.session.execute(update(model).where(model.id == row_id).values(position=new).execution_options(**opts))
    return new
