"""XP awards and revocations, badge checks, the caller's XP summary; boards in leaderboards.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, delete, func, select, true, update

from common.accounts.models import User
from common.db import built_once, db, execute, insert_ignore, is_postgres, utcnow
from common.gamification import leaderboards
from common.gamification.badges import (  # noqa: F401  (re-exported: the domain's public interface)
    BADGES,
    STREAK_HORIZON,
    award_earned,
    badge_catalogue,
    count_streak,
    days_since,
    ensure_badges,
    grant_badge,
    horizon_start,
    my_badges,
    recent_days,
    register_counter,
    streak_days,
    unheld_badges,
)
from common.gamification.leaderboards import (  # noqa: F401
    period_start,
    read_board,
    remove_user_from_boards,
)
from common.gamification.models import Badge, XpEvent
from common.gamification.rebuild import rebuild_leaderboards  # noqa: F401

XP_TYPES = ("lesson_complete", "quiz_pass", "forum_post")
# The setting that holds each type's points.
POINTS_SETTING = {
    "lesson_complete": "XP_LESSON_COMPLETE",
    "quiz_pass": "XP_QUIZ_PASS",
    "forum_post": "XP_FORUM_POST",
}

leaderboards.install_session_hooks()


def xp_points(type: str) -> int:
    """The points one award of `type` is worth (settings XP_LESSON_COMPLETE, XP_QUIZ_PASS, XP_FORUM_POST)."""
    return current_app.config[POINTS_SETTING[type]]


def award_xp(
    *, user_id: int, type: str, source_id: int, course_id: int | None = None, domain: str | None = None
) -> int:
    """Award the points for (user, type, source) once; returns the points awarded (0 if not).

    Runs inside the caller's unit of work (no commit): the unique constraint on
    (user_id, type, source_id) makes a concurrent second award a no-op. `forum_post` pays at most
    XP_FORUM_POST_DAILY_CAP times per user and UTC day; past the cap nothing is recorded. The
    badges this award earns are granted in the same transaction; the Redis boards follow once the
    caller's transaction commits (and never if it rolls back).
    """
    return award_xp_at(
        user_id=user_id, type=type, source_id=source_id, course_id=course_id, domain=domain, now=utcnow()
    )


def award_xp_at(
    *,
    user_id: int,
    type: str,
    source_id: int,
    course_id: int | None = None,
    domain: str | None = None,
    now: datetime,
) -> int:
    """award_xp with an explicit clock (the time the award is recorded at; boundary tests, imports)."""
    points = xp_points(type)
    if type == "forum_post" and not _under_daily_cap(user_id, now):
        return 0
    event = dict(
        user_id=user_id,
        type=type,
        points=points,
        source_id=source_id,
        course_id=course_id,
        domain=domain,
        timestamp=now,
    )
    criteria = {type: None, "xp_total": None, "streak_days": None}
    if is_postgres():
        recorded = _record_award(event, criteria)
        if recorded is None:
            return 0
        xp_total, unheld, days = recorded
        # Today has XP now: the days before this award, and today.
        criteria["streak_days"] = count_streak({*days, now.date()}, now.date())
    else:
        if not insert_ignore(XpEvent, **event):
            return 0
        xp_total = db.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(xp_total=User.xp_total + points)
            .returning(User.xp_total)
        ).scalar_one()
        unheld = None
    award_earned(user_id, {**criteria, "xp_total": xp_total}, now, unheld=unheld)
    leaderboards.queue_delta(db.session(), user_id=user_id, points=points, at=now, domain=domain)
    return points


def _record_award(event: dict, criteria: dict) -> tuple[int, list, list] | None:
    """PostgreSQL: the XP event, the user's new total, their unheld badges and the days they earned XP
    on lately (for the streak), in one statement:

    WITH event AS (INSERT ... ON CONFLICT DO NOTHING RETURNING user_id, points),
         total AS (UPDATE users ... FROM event WHERE users.id = event.user_id RETURNING xp_total)
    SELECT total.xp_total, (recent XP days), unheld.* FROM total LEFT JOIN (unheld badges) ON true

    One round trip instead of four. No row: the award existed already (nothing written). Otherwise one
    row per unheld badge of `criteria` (a single row of NULL badge columns when none is left). The reads
    see the transaction so far but not this statement's own insert, as separate SELECTs before it would.
    """
    params = {f"p_{key}": value for key, value in event.items()}
    params["p_since"] = horizon_start(event["timestamp"].date(), STREAK_HORIZON)
    params["p_updated_at"] = utcnow()
    params["p_criteria"] = list(criteria)
    rows = execute(_award_stmt(), params).all()
    if not rows:
        return None
    return rows[0].xp_total, [row for row in rows if row.id is not None], rows[0].days or []


@built_once
def _award_stmt():
    """_record_award's statement, built once (values are bound parameters `p_<column>`, `p_since`,
    `p_updated_at` and the badge criteria `p_criteria`): building it cost more than running it. One
    statement for every award type: one per type would share a single compiled form (the criteria
    are bound values), and all but the first would have their result columns re-mapped each time."""
    from sqlalchemy.dialects.postgresql import ARRAY, insert

    user_id = bindparam("p_user_id")
    columns = ("user_id", "type", "points", "source_id", "course_id", "domain", "timestamp")
    inserted = (
        insert(XpEvent)
        .values({name: bindparam(f"p_{name}") for name in columns})
        .on_conflict_do_nothing()
        .returning(XpEvent.user_id, XpEvent.points)
        .cte("event")
    )
    total = (
        update(User)
        .where(User.id == inserted.c.user_id)  # FROM event: no event inserted, no update
        # updated_at by hand: column onupdate defaults are not applied inside a CTE.
        .values(xp_total=User.xp_total + inserted.c.points, updated_at=bindparam("p_updated_at"))
        .returning(User.xp_total)
        .cte("total")
    )
    criteria = bindparam("p_criteria", type_=ARRAY(Badge.__table__.c.criterion.type))
    unheld = unheld_badges(user_id, criteria).subquery("unheld")
    day = days_since(user_id, bindparam("p_since")).subquery("day")
    days = select(func.array_agg(day.c[0].distinct())).scalar_subquery()
    return (
        select(
            total.c.xp_total,
            days.label("days"),
            unheld.c.id,
            unheld.c.code,
            unheld.c.criterion,
            unheld.c.threshold,
        )
        .select_from(total)
        .outerjoin(unheld, true())
    )


def _under_daily_cap(user_id: int, now: datetime) -> bool:
    """True while the user has fewer paid forum posts today (UTC) than XP_FORUM_POST_DAILY_CAP.

    The user's row is locked first (FOR NO KEY UPDATE: it does not block inserts that reference
    the user), so two posts racing for the last paid slot count one after the other; the lock is
    held to the end of the caller's transaction, which then inserts its event. SQLite serialises
    writers with its database lock (the caller has written the post already).
    """
    if is_postgres():
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
    day = leaderboards.at_midnight(now.date())
    paid = db.session.execute(
        select(func.count())
        .select_from(XpEvent)
        .where(
            XpEvent.user_id == user_id,
            XpEvent.type == "forum_post",
            XpEvent.timestamp >= day,
            XpEvent.timestamp < day + timedelta(days=1),
        )
    ).scalar_one()
    return paid < current_app.config["XP_FORUM_POST_DAILY_CAP"]


def revoke_xp(*, user_id: int, type: str, source_id: int) -> int:
    """Take back one award (e.g. a deleted forum post); returns the points taken back (0 if none).

    Runs in the caller's unit of work (no commit): deletes the XP event, lowers users.xp_total, and
    once the caller commits lowers the boards of the period the points were earned in. Badges
    already earned stay.
    """
    row = db.session.execute(
        delete(XpEvent)
        .where(XpEvent.user_id == user_id, XpEvent.type == type, XpEvent.source_id == source_id)
        .returning(XpEvent.points, XpEvent.timestamp, XpEvent.domain)
    ).first()
    if row is None:
        return 0
    db.session.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            xp_total=func.greatest(User.xp_total - row.points, 0)
            if is_postgres()
            else func.max(User.xp_total - row.points, 0)
        )
    )
    leaderboards.queue_delta(
        db.session(), user_id=user_id, points=-row.points, at=row.timestamp, domain=row.domain
    )
    return row.points


def record_course_completion(*, user_id: int, now: datetime | None = None) -> list[str]:
    """Grant the course-count badges a newly completed course earns; no commit (the caller's unit
    of work stamps the completion). Returns the codes granted."""
    return award_earned(user_id, {"course_complete": None}, now)


def my_xp(*, user_id: int, now: datetime | None = None, recent: int = 20) -> dict:
    """The caller's XP: total, per-type breakdown, this week's and month's points, the current daily
    streak (UTC days), and the most recent events with what earned them."""
    from common.catalog.models import Lesson
    from common.forum.models import Post
    from common.quizzes.models import Quiz

    now = now or utcnow()
    week = leaderboards.at_midnight(period_start("weekly", now.date()))
    month = leaderboards.at_midnight(period_start("monthly", now.date()))
    since = min(week, month)
    mine = XpEvent.user_id == user_id
    total = db.session.execute(select(User.xp_total).where(User.id == user_id)).scalar_one()
    by_type = {t: {"points": 0, "count": 0} for t in XP_TYPES}
    for type_, points, count in db.session.execute(
        select(XpEvent.type, func.sum(XpEvent.points), func.count()).where(mine).group_by(XpEvent.type)
    ):
        by_type[type_] = {"points": int(points), "count": count}
    week_points, month_points = db.session.execute(
        select(
            func.coalesce(func.sum(XpEvent.points).filter(XpEvent.timestamp >= week), 0),
            func.coalesce(func.sum(XpEvent.points).filter(XpEvent.timestamp >= month), 0),
        ).where(mine, XpEvent.timestamp >= since)
    ).one()
    title = func.coalesce(Lesson.title, Quiz.question, Post.title)
    rows = db.session.execute(
        select(
            XpEvent.id,
            XpEvent.type,
            XpEvent.points,
            XpEvent.timestamp,
            XpEvent.source_id,
            XpEvent.course_id,
            title.label("title"),
        )
        .outerjoin(Lesson, and_(XpEvent.type == "lesson_complete", Lesson.id == XpEvent.source_id))
        .outerjoin(Quiz, and_(XpEvent.type == "quiz_pass", Quiz.id == XpEvent.source_id))
        .outerjoin(Post, and_(XpEvent.type == "forum_post", Post.id == XpEvent.source_id))
        .where(mine)
        .order_by(XpEvent.timestamp.desc(), XpEvent.id.desc())
        .limit(recent)
    ).all()
    kinds = {"lesson_complete": "lesson", "quiz_pass": "quiz", "forum_post": "post"}
    events = [
        {
            "id": r.id,
            "type": r.type,
            "points": r.points,
            "timestamp": r.timestamp,
            "source": {"kind": kinds[r.type], "id": r.source_id, "title": r.title, "course_id": r.course_id},
        }
        for r in rows
    ]
    streak = streak_days(user_id, now.date(), alive_from_yesterday=True)
    db.session.commit()  # a read: end it with COMMIT (see common.db.end_read)
    return {
        "total": total,
        "by_type": by_type,
        "this_week": int(week_points),
        "this_month": int(month_points),
        "streak_days": streak,
        "recent": events,
    }
