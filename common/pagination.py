"""Offset pagination shared by every list: one COUNT and one page query, or one query with the total
as a window count (`paginate_counted`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select

from common.db import built_once, db


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return (self.total + self.per_page - 1) // self.per_page if self.total else 0


def paginate(stmt: Select, *, page: int, per_page: int, scalars: bool = True) -> Page:
    """Run `stmt` for one page; the total comes from the same statement without ordering."""
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    result = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    items = list(result.scalars().unique() if scalars else result.all())
    return Page(items=items, page=page, per_page=per_page, total=total)


def paginate_counted(
    stmt: Select, *, page: int, per_page: int, params: dict | None = None, connection=None
) -> Page:
    """Like `paginate(scalars=False)` in one query: every row of the page carries the total as
    `count(*) OVER ()`. Only for statements whose joins cannot repeat a row (no collection eager
    loads); a page past the end has no rows to carry it, so only then is the total counted apart.
    Runs on `connection` (e.g. common.db.read_connection) if given, else in the Session; rows keep
    their labels (the count rides along as `total_rows`)."""
    execute = (connection or db.session).execute
    params = {**(params or {}), "page_limit": per_page, "page_offset": (page - 1) * per_page}
    rows = execute(_counted(stmt), params).all()
    if rows:
        return Page(items=rows, page=page, per_page=per_page, total=rows[0].total_rows)
    total = (
        execute(select(func.count()).select_from(stmt.order_by(None).subquery()), params).scalar_one()
        if page > 1
        else 0
    )
    return Page(items=[], page=page, per_page=per_page, total=total)


@built_once(maxsize=128)
def _counted(stmt: Select) -> Select:
    """`stmt` with the window count and bound limit/offset; kept per statement object, so a statement
    built once (a module-level or cached one) is extended once too."""
    return (
        stmt.add_columns(func.count().over().label("total_rows"))
        .limit(bindparam("page_limit", type_=Integer))
        .offset(bindparam("page_offset", type_=Integer))
    )
