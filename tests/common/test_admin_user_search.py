"""The admin user search uses the trigram indexes at scale (100,000 users as in the 100k profile; EXPLAIN
of the real query)."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from common.admin.service import search_users, users_query
from common.db import db


def _plan(stmt) -> str:
    # Literal values, as the planner sees them; the pyformat compiler doubles `%`, undo that.
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})).replace(
        "%%", "%"
    )
    return "\n".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql)))


def test_search_plan_uses_the_trigram_indexes_at_100k_users(app):
    db.session.execute(
        text(
            "INSERT INTO users (email, name, role, status, token_version, xp_total, email_verified, "
            "created_at, updated_at) "
            "SELECT 'user' || g || '@scale.example.com', 'Person ' || md5(g::text), 'student', 'active', "
            "1, 0, false, now(), now() FROM generate_series(1, 100000) g"
        )
    )
    db.session.execute(text("UPDATE users SET name = 'Ada Lovelace' WHERE id = 31337"))
    db.session.commit()
    db.session.execute(text("ANALYZE users"))
    stmt = users_query(q="LOVELACE")
    page_plan = _plan(stmt.limit(20))
    count_plan = _plan(select(func.count()).select_from(stmt.order_by(None).subquery()))
    for plan in (page_plan, count_plan):
        assert "ix_users_name_trgm" in plan and "ix_users_email_trgm" in plan, plan
        assert "Seq Scan on users" not in plan, plan
    page = search_users(q="LOVELACE")
    assert page.total == 1 and page.items[0][0].id == 31337
