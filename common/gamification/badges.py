"""The badge catalogue (data: one line per badge), the counters its criteria read, and awarding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import Select, any_, func, select
from sqlalchemy.sql.elements import BindParameter

from common.accounts.models import User
from common.db import db, insert_ignore, utcnow
from common.gamification.models import Badge, UserBadge, XpEvent

# (code, name, description, criterion, threshold). A criterion names a counter below; adding a badge
# is one line here (ensure_badges, run by the migration, the seed and every rebuild, stores it).
BADGES = [
    ("first-lesson", "First lesson", "Complete your first lesson.", "lesson_complete", 1),
    ("first-quiz", "First quiz passed", "Answer a quiz correctly for the first time.", "quiz_pass", 1),
    (
        "first-course",
        "First course completed",
        "Complete every lesson and quiz of a course.",
        "course_complete",
        1,
    ),
    ("five-courses", "Five courses completed", "Complete five courses.", "course_complete", 5),
    ("week-streak", "7-day streak", "Earn XP on 7 consecutive days (UTC).", "streak_days", 7),
    ("xp-100", "100 XP", "Earn 100 XP.", "xp_total", 100),
    ("xp-1000", "1,000 XP", "Earn 1,000 XP.", "xp_total", 1000),
    ("xp-5000", "5,000 XP", "Earn 5,000 XP.", "xp_total", 5000),
    ("first-post", "First forum post", "Write your first forum post.", "forum_post", 1),
    ("helpful-answer", "Helpful answer", "Write a forum answer that gets 10 upvotes.", "reply_upvotes", 10),
]
# The longest streak a badge asks for: how far back an XP award looks to count the streak.
STREAK_HORIZON = max(
    (threshold for *_, criterion, threshold in BADGES if criterion == "streak_days"), default=1
)
CRITERIA = (
    "lesson_complete",
    "quiz_pass",
    "forum_post",
    "course_complete",
    "streak_days",
    "xp_total",
    "reply_upvotes",
)


def ensure_badges(*, commit: bool = True) -> None:
    """Store the catalogue: insert missing badges, update changed ones (idempotent)."""
    stored = {b.code: b for b in db.session.execute(select(Badge)).scalars()}
    for code, name, description, criterion, threshold in BADGES:
        badge = stored.get(code)
        if badge is None:
            insert_ignore(
                Badge, code=code, name=name, description=description, criterion=criterion, threshold=threshold
            )
        elif (badge.name, badge.description, badge.criterion, badge.threshold) != (
            name,
            description,
            criterion,
            threshold,
        ):
            badge.name, badge.description, badge.criterion, badge.threshold = (
                name,
                description,
                criterion,
                threshold,
            )
    if commit:
        db.session.commit()


# ---- counters ------------------------------------------------------------------------------------


def utc_day(column):
    """The UTC calendar day of a timestamp column, on PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def recent_days(user_id, today: date, horizon: int) -> Select:
    """The distinct UTC days on which the user earned XP, from `horizon` days before `today`."""
    return days_since(user_id, horizon_start(today, horizon))


def horizon_start(today: date, horizon: int) -> datetime:
    """Midnight UTC `horizon` days before `today`."""
    return datetime.combine(today - timedelta(days=horizon), datetime.min.time()).replace(
        tzinfo=utcnow().tzinfo
    )


def days_since(user_id, since) -> Select:
    """The UTC days on which the user earned XP from `since` on (values or bound parameters)."""
    return select(utc_day(XpEvent.timestamp)).where(XpEvent.user_id == user_id, XpEvent.timestamp >= since)


def count_streak(days, today: date, *, alive_from_yesterday: bool = False) -> int:
    """Consecutive days in `days` (dates or ISO strings) ending `today` (see streak_days)."""
    days = {d if isinstance(d, date) else date.fromisoformat(d) for d in days}
    cursor = today
    if cursor not in days and alive_from_yesterday:
        cursor -= timedelta(days=1)
    streak = 0
    while cursor in days:
        streak += 1
        cursor -= timedelta(days=1)
    return streak


def streak_days(user_id: int, today: date, *, alive_from_yesterday: bool = False, horizon: int = 366) -> int:
    """Consecutive UTC days with XP ending `today` (or yesterday, if `alive_from_yesterday`: a streak
    is still current until a whole day passes without XP). Looks back `horizon` days at most."""
    days = db.session.execute(recent_days(user_id, today, horizon).distinct()).scalars()
    return count_streak(days, today, alive_from_yesterday=alive_from_yesterday)


def _count_type(user_id: int, type: str) -> int:
    return db.session.execute(
        select(func.count()).select_from(XpEvent).where(XpEvent.user_id == user_id, XpEvent.type == type)
    ).scalar_one()


def _courses_completed(user_id: int) -> int:
    from common.learning.models import Enrollment  # learning builds on gamification, not the other way

    return db.session.execute(
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.user_id == user_id, Enrollment.completed_at.is_not(None))
    ).scalar_one()


# Counters other domains provide (e.g. the forum's best reply score for `reply_upvotes`); a
# criterion without one shows progress 0 until its badge is granted with grant_badge.
EXTERNAL_COUNTERS: dict[str, Callable[[int], int]] = {}


def register_counter(criterion: str, counter: Callable[[int], int]) -> None:
    """Let another domain report a user's progress for a criterion it owns (used by /me/badges)."""
    EXTERNAL_COUNTERS[criterion] = counter


def counter(user_id: int, criterion: str, today: date | None = None) -> int:
    """The user's current value of one criterion."""
    if criterion in ("lesson_complete", "quiz_pass", "forum_post"):
        return _count_type(user_id, criterion)
    if criterion == "xp_total":
        return db.session.execute(select(User.xp_total).where(User.id == user_id)).scalar_one()
    if criterion == "course_complete":
        return _courses_completed(user_id)
    if criterion == "streak_days":
        return streak_days(user_id, today or utcnow().date(), alive_from_yesterday=True)
    external = EXTERNAL_COUNTERS.get(criterion)
    return external(user_id) if external else 0


# ---- awarding ------------------------------------------------------------------------------------


def unheld_badges(user_id, criteria) -> Select:
    """The badges of these criteria that the user does not hold yet: (id, code, criterion, threshold).
    `user_id`: a value or a bound parameter; `criteria`: names, or a bound parameter of an array of
    them (PostgreSQL: `= ANY(...)`, one statement text whatever their number)."""
    return select(Badge.id, Badge.code, Badge.criterion, Badge.threshold).where(
        Badge.criterion == any_(criteria)
        if isinstance(criteria, BindParameter)
        else Badge.criterion.in_(list(criteria)),
        ~select(UserBadge.id).where(UserBadge.user_id == user_id, UserBadge.badge_id == Badge.id).exists(),
    )


def award_earned(
    user_id: int, criteria: dict[str, int | None], now: datetime | None = None, *, unheld: list | None = None
) -> list[str]:
    """Grant the unheld badges of these criteria whose threshold the user now reaches; no commit.

    `criteria` maps a criterion to its known current value, or None to count it here (only when an
    unheld badge needs it); `unheld`, the rows of `unheld_badges` when the caller has read them already.
    A few indexed queries; the (user, badge) unique key makes it exactly-once.
    """
    if unheld is None:
        unheld = db.session.execute(unheld_badges(user_id, criteria)).all()
    now = now or utcnow()
    values = dict(criteria)
    granted = []
    for badge in unheld:
        if values[badge.criterion] is None:
            values[badge.criterion] = (
                streak_days(user_id, now.date(), horizon=badge.threshold)
                if badge.criterion == "streak_days"
                else counter(user_id, badge.criterion)
            )
        if values[badge.criterion] >= badge.threshold and insert_ignore(
            UserBadge, user_id=user_id, badge_id=badge.id, awarded_at=now
        ):
            granted.append(badge.code)
    return granted


def grant_badge(*, user_id: int, code: str) -> bool:
    """Award one badge by code unless the user holds it; True if newly granted. No commit.

    For rules another domain decides (the forum's `helpful-answer`). An unknown code grants nothing.
    """
    badge_id = db.session.execute(select(Badge.id).where(Badge.code == code)).scalar()
    if badge_id is None:
        return False
    return insert_ignore(UserBadge, user_id=user_id, badge_id=badge_id, awarded_at=utcnow())


def badge_catalogue() -> dict:
    """The stored catalogue, in the order of BADGES: {items, total}."""
    order = {code: i for i, (code, *_rest) in enumerate(BADGES)}
    rows = db.session.execute(
        select(Badge.code, Badge.name, Badge.description, Badge.criterion, Badge.threshold)
    ).all()
    db.session.commit()  # a read: end it with COMMIT (see common.db.end_read)
    items = sorted(
        (dict(r._mapping) for r in rows), key=lambda b: (order.get(b["code"], len(order)), b["code"])
    )
    return {"items": items, "total": len(items)}


def my_badges(*, user_id: int, today: date | None = None) -> dict:
    """Earned badges with their award dates, and progress (current, threshold) towards the others."""
    held = dict(
        db.session.execute(
            select(UserBadge.badge_id, UserBadge.awarded_at).where(UserBadge.user_id == user_id)
        ).all()
    )
    rows = db.session.execute(
        select(Badge.id, Badge.code, Badge.name, Badge.description, Badge.criterion, Badge.threshold)
    ).all()
    order = {code: i for i, (code, *_rest) in enumerate(BADGES)}
    earned, progress, values = [], [], {}
    for row in sorted(rows, key=lambda r: (order.get(r.code, len(order)), r.code)):
        item = {
            "code": row.code,
            "name": row.name,
            "description": row.description,
            "criterion": row.criterion,
            "threshold": row.threshold,
        }
        if row.id in held:
            earned.append({**item, "awarded_at": held[row.id]})
            continue
        if row.criterion not in values:
            values[row.criterion] = counter(user_id, row.criterion, today)
        progress.append({**item, "current": min(values[row.criterion], row.threshold)})
    db.session.commit()  # a read: end it with COMMIT (see common.db.end_read)
    return {"earned": earned, "progress": progress}
