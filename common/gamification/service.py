"""XP awards, badges and leaderboard rebuilds."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import delete, func, insert, literal, literal_column, select, text, union_all, update

from common.accounts.models import User
from common.db import db, insert_ignore
from common.gamification.models import Badge, LeaderboardEntry, UserBadge, XpEvent

XP_POINTS = {"lesson_complete": 10, "quiz_pass": 20, "forum_post": 5}

# The catalogue of badges; seeded by the migration-independent `ensure_badges`.
BADGES = [
    ("first-steps", "First steps", "Complete your first lesson.", "lesson_complete", 1),
    ("steady-learner", "Steady learner", "Complete 25 lessons.", "lesson_complete", 25),
    ("quiz-whiz", "Quiz whiz", "Pass 10 quizzes.", "quiz_pass", 10),
    ("helpful-voice", "Helpful voice", "Write 5 forum posts.", "forum_post", 5),
    ("xp-500", "Rising star", "Earn 500 XP.", "xp_total", 500),
    ("xp-2000", "Scholar", "Earn 2,000 XP.", "xp_total", 2000),
]


def ensure_badges() -> None:
    """Insert any missing badge of the catalogue (idempotent). Commits."""
    for code, name, description, criterion, threshold in BADGES:
        insert_ignore(Badge, code=code, name=name, description=description, criterion=criterion,
                      threshold=threshold)
    db.session.commit()


def award_xp(*, user_id: int, type: str, source_id: int, course_id: int | None = None,
             domain: str | None = None) -> int:
    """Award the points for (user, type, source) once; returns the points awarded (0 if already).

    Runs inside the caller's unit of work (no commit): the unique constraint on
    (user_id, type, source_id) makes a concurrent second award a no-op.
    """
    points = XP_POINTS[type]
    if not insert_ignore(XpEvent, user_id=user_id, type=type, points=points, source_id=source_id,
                         course_id=course_id, domain=domain, timestamp=datetime.now(timezone.utc)):
        return 0
    xp_total = db.session.execute(
        update(User).where(User.id == user_id).values(xp_total=User.xp_total + points).returning(User.xp_total)
    ).scalar_one()
    _award_badges(user_id, type, xp_total)
    return points


def _award_badges(user_id: int, type: str, xp_total: int) -> None:
    """Grant the badges of this kind of award the user has now earned (a few indexed queries)."""
    unheld = db.session.execute(
        select(Badge.id, Badge.criterion, Badge.threshold).where(
            Badge.criterion.in_((type, "xp_total")),
            ~select(UserBadge.id).where(UserBadge.user_id == user_id, UserBadge.badge_id == Badge.id).exists(),
        )
    ).all()
    if not unheld:
        return
    counts = {"xp_total": xp_total}
    if any(badge.criterion == type for badge in unheld):
        counts[type] = db.session.execute(
            select(func.count()).select_from(XpEvent).where(XpEvent.user_id == user_id, XpEvent.type == type)
        ).scalar_one()
    for badge in unheld:
        if counts[badge.criterion] >= badge.threshold:
            insert_ignore(UserBadge, user_id=user_id, badge_id=badge.id, awarded_at=datetime.now(timezone.utc))


def period_start(period: str, today: date | None = None) -> date:
    today = today or datetime.now(timezone.utc).date()
    if period == "weekly":
        return today - timedelta(days=today.weekday())
    return today.replace(day=1)


# Per-domain boards keep their top entries only; the overall board ranks every learner, so any
# caller can see their own overall rank.
DOMAIN_BOARD_SIZE = 1000


def _boards_query(period: str, start: date, since: datetime):
    """The overall board and the per-domain boards of one period from a single pass over XP events."""
    # A literal, not a bound parameter: the SELECT and GROUP BY expressions must be identical.
    domain = func.coalesce(XpEvent.domain, literal_column("''"))
    per_user_domain = (
        select(domain.label("domain"), XpEvent.user_id, func.sum(XpEvent.points).label("points"))
        .where(XpEvent.timestamp >= since)
        .group_by(domain, XpEvent.user_id)
        .cte("per_user_domain")
    )
    total = func.sum(per_user_domain.c.points)
    overall = (
        select(literal(period), literal(start), literal(""), per_user_domain.c.user_id, total,
               func.rank().over(order_by=total.desc()))
        .group_by(per_user_domain.c.user_id)
    )
    ranked = select(
        per_user_domain.c.domain, per_user_domain.c.user_id, per_user_domain.c.points,
        func.rank().over(partition_by=per_user_domain.c.domain,
                         order_by=per_user_domain.c.points.desc()).label("rank"),
    ).where(per_user_domain.c.domain != "").subquery()
    by_domain = (
        select(literal(period), literal(start), ranked.c.domain, ranked.c.user_id, ranked.c.points, ranked.c.rank)
        .where(ranked.c.rank <= DOMAIN_BOARD_SIZE)
    )
    return union_all(overall, by_domain)


def rebuild_leaderboards(today: date | None = None) -> dict:
    """Recompute the current weekly and monthly boards (overall and per domain) in SQL. Commits.

    Runs as one transaction: readers see the old boards until the new ones are committed.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        # The aggregates sort ~10^6 rows; keep them in memory rather than spilling to disk.
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    stats = {}
    for period in ("weekly", "monthly"):
        start = period_start(period, today)
        since = datetime.combine(start, datetime.min.time(), tzinfo=timezone.utc)
        db.session.execute(delete(LeaderboardEntry).where(LeaderboardEntry.period == period))
        db.session.execute(insert(LeaderboardEntry).from_select(
            ["period", "period_start", "domain", "user_id", "points", "rank"],
            _boards_query(period, start, since)))
        stats[period] = db.session.execute(
            select(func.count()).select_from(LeaderboardEntry).where(LeaderboardEntry.period == period)
        ).scalar_one()
    db.session.commit()
    return stats


def revoke_xp(*, user_id: int, type: str, source_id: int) -> int:
    """Take back the award for (user, type, source); returns the points removed (0 if none).

    Runs inside the caller's unit of work (no commit).
    """
    points = db.session.execute(
        delete(XpEvent).where(XpEvent.user_id == user_id, XpEvent.type == type, XpEvent.source_id == source_id)
        .returning(XpEvent.points)
    ).scalar_one_or_none()
    if not points:
        return 0
    db.session.execute(update(User).where(User.id == user_id).values(xp_total=User.xp_total - points))
    return points


def grant_badge(*, user_id: int, code: str) -> bool:
    """Grant the badge with this code once (if the catalogue has it); True if newly granted. No commit."""
    badge_id = db.session.execute(select(Badge.id).where(Badge.code == code)).scalar_one_or_none()
    if badge_id is None:
        return False
    return insert_ignore(UserBadge, user_id=user_id, badge_id=badge_id, awarded_at=datetime.now(timezone.utc))
