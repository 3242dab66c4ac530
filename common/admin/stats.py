"""Platform statistics for admins: a handful of aggregate queries, cached for a short TTL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import Date, case, cast, func, literal_column, select, text

from common.accounts.models import ROLES, User
from common.cache import cache
from common.catalog.models import COURSE_STATUSES, Course
from common.db import db, is_postgres, utcnow
from common.learning.models import Enrollment
from common.payments.models import Payment

CACHE_KEY = "admin:stats:v1"
DAYS = 30
TOP = 10
# A payment counts as earned once paid; a refund takes it back. `refunded` rows were paid first.
EARNED = ("paid", "refunded")


def platform_stats(*, fresh: bool = False) -> dict:
    """The stats document; served from the cache for ADMIN_STATS_CACHE_SECONDS unless `fresh`."""
    if fresh:
        return compute_stats()
    return cache.cached_json(CACHE_KEY, current_app.config["ADMIN_STATS_CACHE_SECONDS"], compute_stats)


def _day(column):
    """The UTC calendar day of a timestamp column, in SQL (a cast, far cheaper per row than to_char)."""
    if is_postgres():
        return cast(func.timezone(literal_column("'UTC'"), column), Date)
    return func.date(column)


def _users() -> dict:
    # Two index-only scans (ix_users_role_created, ix_users_status) instead of one pass over the wide rows.
    counts = {role: 0 for role in ROLES}
    for role, n in db.session.execute(select(User.role, func.count()).group_by(User.role)):
        counts[role] = n
    suspended = db.session.execute(
        select(func.count()).select_from(User).where(User.status == "suspended")
    ).scalar_one()
    return {
        "students": counts["student"],
        "instructors": counts["instructor"],
        "admins": counts["admin"],
        "suspended": suspended,
        "total": sum(counts.values()),
    }


def _courses() -> dict:
    counts = {status: 0 for status in COURSE_STATUSES}
    for status, n in db.session.execute(select(Course.status, func.count()).group_by(Course.status)):
        counts[status] = n
    return counts


def _enrollments() -> dict:
    active, completed, revoked = db.session.execute(
        select(
            func.count().filter(Enrollment.status == "active"),
            func.count().filter(Enrollment.status == "active", Enrollment.completed_at.is_not(None)),
            func.count().filter(Enrollment.status == "revoked"),
        )
    ).one()
    return {"active": active, "completed": completed, "revoked": revoked}


def _earnings() -> list[dict]:
    rows = db.session.execute(
        select(
            Payment.currency,
            func.sum(Payment.amount),
            func.sum(case((Payment.status == "refunded", Payment.amount), else_=0)),
        )
        .where(Payment.status.in_(EARNED))
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    ).all()
    return [
        {"currency": cur, "paid": int(paid), "refunded": int(refunded), "net": int(paid) - int(refunded)}
        for cur, paid, refunded in rows
    ]


def _top_by_enrollments() -> list[dict]:
    # courses.enrollment_count is the active-enrollment counter the learning service keeps (indexed).
    rows = db.session.execute(
        select(Course.id, Course.title, Course.enrollment_count)
        .where(Course.enrollment_count > 0)
        .order_by(Course.enrollment_count.desc(), Course.id)
        .limit(TOP)
    ).all()
    return [{"course_id": cid, "title": title, "active_enrollments": count} for cid, title, count in rows]


def _top_by_revenue() -> list[dict]:
    net = func.sum(Payment.amount).label("net")
    per_course = (
        select(Payment.course_id, Payment.currency, net)
        .where(Payment.status == "paid", Payment.course_id.is_not(None))
        .group_by(Payment.course_id, Payment.currency)
        .order_by(net.desc(), Payment.course_id)
        .limit(TOP)
        .subquery()
    )
    rows = db.session.execute(
        select(Course.id, Course.title, per_course.c.currency, per_course.c.net)
        .join(per_course, per_course.c.course_id == Course.id)
        .order_by(per_course.c.net.desc(), Course.id)
    ).all()
    return [
        {"course_id": cid, "title": title, "currency": cur, "net_revenue": int(amount)}
        for cid, title, cur, amount in rows
    ]


def _per_day_counts(table: str, column: str):
    """(day start, rows with `column` in [start, start + 24 h)) for the DAYS days from :since (PostgreSQL).

    Table and column are names from this module, never input. Whole hours, not days: the result does not
    depend on the session's time zone.
    """
    # An integer series with literal bounds: the planner knows it has DAYS rows. A timestamp series is
    # guessed at 1,000 rows, which (while the table's visibility map is stale, so bitmap heap scans are
    # planned) priced this query past jit_above_cost: ~50 ms of JIT for a query that runs in a few.
    return text(f"""
        SELECT d, (SELECT count(*) FROM {table} WHERE {column} >= d AND {column} < d + interval '24 hours')
        FROM generate_series(0, {DAYS - 1}) AS i,
             LATERAL (SELECT CAST(:since AS timestamptz) + i * interval '24 hours' AS d) AS day""")


def _daily(today: date, currencies: list[str]) -> list[dict]:
    first = today - timedelta(days=DAYS - 1)
    since = datetime.combine(first, time.min, tzinfo=UTC)
    days = {
        (first + timedelta(days=i)).isoformat(): {
            "date": (first + timedelta(days=i)).isoformat(),
            "signups": 0,
            "enrollments": 0,
            "revenue": {cur: 0 for cur in currencies},
        }
        for i in range(DAYS)
    }

    def add(stmt, apply):
        for row in db.session.execute(stmt):
            key = row[0] if isinstance(row[0], str) else row[0].isoformat()
            if key in days:
                apply(days[key], *row[1:])

    if is_postgres():
        # One index range count per day (ix_users_created_at, ix_enrollments_enrolled_at): cheaper than
        # computing the day of every row in the window and grouping.
        for label, table, column in (
            ("signups", "users", "created_at"),
            ("enrollments", "enrollments", "enrolled_at"),
        ):
            for day_start, n in db.session.execute(_per_day_counts(table, column), {"since": since}):
                key = day_start.astimezone(UTC).date().isoformat()
                if key in days:
                    days[key][label] = n
    else:
        signup_day = _day(User.created_at)
        add(
            select(signup_day, func.count()).where(User.created_at >= since).group_by(signup_day),
            lambda d, n: d.__setitem__("signups", n),
        )
        enrolled_day = _day(Enrollment.enrolled_at)
        add(
            select(enrolled_day, func.count()).where(Enrollment.enrolled_at >= since).group_by(enrolled_day),
            lambda d, n: d.__setitem__("enrollments", n),
        )

    def revenue(d, currency, amount, sign=1):
        d["revenue"][currency] = d["revenue"].get(currency, 0) + sign * int(amount)

    paid_day = _day(Payment.paid_at)
    add(
        select(paid_day, Payment.currency, func.sum(Payment.amount))
        .where(Payment.status.in_(EARNED), Payment.paid_at >= since)
        .group_by(paid_day, Payment.currency),
        revenue,
    )
    refund_day = _day(Payment.refunded_at)
    add(
        select(refund_day, Payment.currency, func.sum(Payment.amount))
        .where(Payment.status == "refunded", Payment.refunded_at >= since)
        .group_by(refund_day, Payment.currency),
        lambda d, cur, amount: revenue(d, cur, amount, -1),
    )
    return list(days.values())


def compute_stats() -> dict:
    """Counts of users, courses and enrollments; earnings (paid minus refunded, smallest currency unit,
    per currency); the top courses; and per-UTC-day signups, enrollments and net revenue for the last
    30 days, zero-filled."""
    now = utcnow()
    if is_postgres():
        # Each query scans at most a few hundred thousand narrow rows: starting parallel workers costs more
        # than it saves (measured on 2 cores), so this transaction plans without them.
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    earnings = _earnings()
    stats = {
        "generated_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "users": _users(),
        "courses": _courses(),
        "enrollments": _enrollments(),
        "earnings": earnings,
        "top_courses_by_enrollments": _top_by_enrollments(),
        "top_courses_by_revenue": _top_by_revenue(),
        "daily": _daily(now.date(), [e["currency"] for e in earnings]),
    }
    db.session.rollback()  # read-only: end the transaction
    return stats
