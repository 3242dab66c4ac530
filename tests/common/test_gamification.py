"""XP is awarded once per (user, type, source), badges follow thresholds, boards rank by points."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from common.accounts.models import User
from common.db import db
from common.gamification import service
from common.gamification.models import Badge, LeaderboardEntry, UserBadge, XpEvent
from tests.factories import make_user


def test_award_once_per_source(student):
    assert service.award_xp(user_id=student.id, type="lesson_complete", source_id=7, course_id=None) == 10
    assert service.award_xp(user_id=student.id, type="lesson_complete", source_id=7) == 0
    assert service.award_xp(user_id=student.id, type="quiz_pass", source_id=7) == 20
    db.session.commit()
    db.session.refresh(student)
    assert student.xp_total == 30
    assert db.session.execute(select(func.count()).select_from(XpEvent)).scalar_one() == 2


def test_badges_by_count_and_total(student):
    service.award_xp(user_id=student.id, type="lesson_complete", source_id=1)
    db.session.commit()
    codes = set(db.session.execute(
        select(Badge.code).join(UserBadge, UserBadge.badge_id == Badge.id).where(UserBadge.user_id == student.id)
    ).scalars())
    assert codes == {"first-steps"}
    for source in range(2, 27):
        service.award_xp(user_id=student.id, type="quiz_pass", source_id=source)
    db.session.commit()
    codes = set(db.session.execute(
        select(Badge.code).join(UserBadge, UserBadge.badge_id == Badge.id).where(UserBadge.user_id == student.id)
    ).scalars())
    assert {"first-steps", "quiz-whiz", "xp-500"} <= codes and "xp-2000" not in codes


def test_ensure_badges_is_idempotent():
    before = db.session.execute(select(func.count()).select_from(Badge)).scalar_one()
    service.ensure_badges()
    assert db.session.execute(select(func.count()).select_from(Badge)).scalar_one() == before == len(service.BADGES)


def test_period_start():
    wednesday = date(2026, 11, 25)
    assert service.period_start("weekly", wednesday) == date(2026, 11, 23)
    assert service.period_start("monthly", wednesday) == date(2026, 11, 1)


def test_rebuild_ranks_current_period_overall_and_per_domain():
    today = datetime.now(timezone.utc).date()
    a, b, c = make_user(), make_user(), make_user()
    old = datetime.now(timezone.utc) - timedelta(days=70)
    rows = [(a, "quiz_pass", 20, "design"), (a, "lesson_complete", 10, "design"),
            (b, "quiz_pass", 20, "cloud"), (c, "forum_post", 5, "cloud")]
    for n, (user, kind, points, domain) in enumerate(rows):
        db.session.add(XpEvent(user_id=user.id, type=kind, points=points, source_id=n, domain=domain))
    db.session.add(XpEvent(user_id=c.id, type="quiz_pass", points=20, source_id=99, domain="cloud", timestamp=old))
    db.session.commit()
    stats = service.rebuild_leaderboards()
    assert stats["weekly"] == 3 + 3 and stats["monthly"] == 6
    board = db.session.execute(
        select(LeaderboardEntry.user_id, LeaderboardEntry.points, LeaderboardEntry.rank)
        .where(LeaderboardEntry.period == "monthly", LeaderboardEntry.domain == "")
        .order_by(LeaderboardEntry.rank)
    ).all()
    assert board == [(a.id, 30, 1), (b.id, 20, 2), (c.id, 5, 3)]
    cloud = db.session.execute(
        select(LeaderboardEntry.user_id, LeaderboardEntry.rank)
        .where(LeaderboardEntry.period == "weekly", LeaderboardEntry.domain == "cloud").order_by(LeaderboardEntry.rank)
    ).all()
    assert cloud == [(b.id, 1), (c.id, 2)]
    # A second rebuild replaces the boards rather than adding to them.
    service.rebuild_leaderboards(today)
    assert db.session.execute(select(func.count()).select_from(LeaderboardEntry)).scalar_one() == 12
    assert db.session.get(User, a.id).xp_total == 0  # boards never touch the running totals
