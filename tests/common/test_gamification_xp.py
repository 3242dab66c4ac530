"""XP awards: once per source, points from settings, the daily forum cap, revocation, boards after commit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from common.accounts.models import User
from common.cache import cache
from common.db import db
from common.gamification import leaderboards, service
from common.gamification.models import XpEvent
from tests.concurrency import run_together
from tests.factories import make_user


def xp_total(user_id: int) -> int:
    db.session.expire_all()
    return db.session.get(User, user_id).xp_total


def board_score(key: str, user_id: int):
    score = cache.backend.client.zscore(key, leaderboards.member(user_id))
    return None if score is None else int(score)


def weekly_key(domain: str = "") -> str:
    return leaderboards.board_key("weekly", leaderboards.period_start("weekly"), domain)


def test_award_once_per_source(student):
    assert service.award_xp(user_id=student.id, type="lesson_complete", source_id=7, course_id=None) == 10
    assert service.award_xp(user_id=student.id, type="lesson_complete", source_id=7) == 0
    assert service.award_xp(user_id=student.id, type="quiz_pass", source_id=7) == 20
    db.session.commit()
    assert xp_total(student.id) == 30
    assert db.session.execute(select(func.count()).select_from(XpEvent)).scalar_one() == 2


def test_points_come_from_settings(app, student):
    app.config["XP_QUIZ_PASS"] = 35
    try:
        assert service.award_xp(user_id=student.id, type="quiz_pass", source_id=1) == 35
        db.session.commit()
    finally:
        app.config["XP_QUIZ_PASS"] = 20
    assert xp_total(student.id) == 35
    assert db.session.execute(select(XpEvent.points)).scalar_one() == 35


def test_forum_posts_pay_up_to_the_daily_cap_per_utc_day(student):
    day = datetime(2026, 12, 1, tzinfo=UTC)
    late = day - timedelta(seconds=1)  # 23:59:59 the day before counts for that day
    for source in range(1, 6):
        assert service.award_xp_at(user_id=student.id, type="forum_post", source_id=source, now=late) == 5
    assert service.award_xp_at(user_id=student.id, type="forum_post", source_id=6, now=late) == 0
    paid = [
        service.award_xp_at(
            user_id=student.id, type="forum_post", source_id=10 + n, now=day + timedelta(hours=n)
        )
        for n in range(7)
    ]
    db.session.commit()
    assert paid == [5] * 5 + [0, 0]
    assert (
        db.session.execute(
            select(func.count()).select_from(XpEvent).where(XpEvent.source_id.in_([6, 15, 16]))
        ).scalar_one()
        == 0
    )  # nothing recorded
    assert xp_total(student.id) == 50
    # Other types are never capped.
    assert service.award_xp_at(user_id=student.id, type="lesson_complete", source_id=1, now=day) == 10


def test_cap_setting(app, student):
    app.config["XP_FORUM_POST_DAILY_CAP"] = 1
    try:
        assert service.award_xp(user_id=student.id, type="forum_post", source_id=1) == 5
        assert service.award_xp(user_id=student.id, type="forum_post", source_id=2) == 0
    finally:
        app.config["XP_FORUM_POST_DAILY_CAP"] = 5
    db.session.commit()


def test_daily_cap_holds_under_concurrency(app, student):
    user_id = student.id

    def post(source_id):
        def call():
            points = service.award_xp(user_id=user_id, type="forum_post", source_id=source_id)
            db.session.commit()
            return points

        return call

    results = run_together(app, [post(n) for n in range(1, 9)])
    assert sorted(results) == [0, 0, 0] + [5] * 5
    assert db.session.execute(select(func.count()).select_from(XpEvent)).scalar_one() == 5
    assert xp_total(student.id) == 25
    assert board_score(weekly_key(), student.id) == 25


def test_concurrent_awards_of_one_source_pay_once(app, student):
    user_id = student.id

    def award():
        points = service.award_xp(user_id=user_id, type="lesson_complete", source_id=3, domain="design")
        db.session.commit()
        return points

    assert sorted(run_together(app, [award] * 6)) == [0] * 5 + [10]
    assert xp_total(student.id) == 10
    assert board_score(weekly_key("design"), student.id) == 10


def test_boards_follow_the_commit_and_never_a_rollback(student):
    service.award_xp(user_id=student.id, type="quiz_pass", source_id=1, domain="cloud")
    assert board_score(weekly_key(), student.id) is None  # not before the commit
    db.session.commit()
    monthly = leaderboards.board_key("monthly", leaderboards.period_start("monthly"))
    assert board_score(weekly_key(), student.id) == 20 == board_score(monthly, student.id)
    assert board_score(weekly_key("cloud"), student.id) == 20
    assert cache.backend.client.ttl(weekly_key()) > 7 * 86400 - 1  # kept through the next week
    service.award_xp(user_id=student.id, type="quiz_pass", source_id=2, domain="cloud")
    db.session.rollback()
    db.session.commit()  # a later commit must not apply the rolled-back change
    assert board_score(weekly_key(), student.id) == 20
    assert db.session.execute(select(func.count()).select_from(XpEvent)).scalar_one() == 1


def test_award_survives_redis_being_unreachable(app, student):
    from common.cache import RedisCache

    saved = app.extensions["cache"]
    app.extensions["cache"] = RedisCache("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        assert service.award_xp(user_id=student.id, type="lesson_complete", source_id=1) == 10
        db.session.commit()
    finally:
        app.extensions["cache"] = saved
    assert xp_total(student.id) == 10


def test_revoke_takes_back_one_award(student):
    service.award_xp(user_id=student.id, type="forum_post", source_id=4, domain="design")
    service.award_xp(user_id=student.id, type="lesson_complete", source_id=4, domain="design")
    db.session.commit()
    assert service.revoke_xp(user_id=student.id, type="forum_post", source_id=4) == 5
    assert board_score(weekly_key(), student.id) == 15  # boards change only after the commit
    db.session.commit()
    assert xp_total(student.id) == 10
    assert board_score(weekly_key(), student.id) == 10 == board_score(weekly_key("design"), student.id)
    assert service.revoke_xp(user_id=student.id, type="forum_post", source_id=4) == 0
    assert service.revoke_xp(user_id=student.id, type="lesson_complete", source_id=4) == 10
    db.session.commit()
    assert board_score(weekly_key(), student.id) is None  # at zero the member leaves the board
    # The badge of the first post stays.
    codes = [b["code"] for b in service.my_badges(user_id=student.id)["earned"]]
    assert "first-post" in codes and "first-lesson" in codes


def test_revoke_rolled_back_changes_nothing(student):
    service.award_xp(user_id=student.id, type="forum_post", source_id=4)
    db.session.commit()
    service.revoke_xp(user_id=student.id, type="forum_post", source_id=4)
    db.session.rollback()
    assert xp_total(student.id) == 5 and board_score(weekly_key(), student.id) == 5


def test_a_revoked_post_frees_its_daily_slot(student):
    for source in range(5):
        service.award_xp(user_id=student.id, type="forum_post", source_id=source)
    service.revoke_xp(user_id=student.id, type="forum_post", source_id=0)
    assert service.award_xp(user_id=student.id, type="forum_post", source_id=9) == 5
    db.session.commit()
    assert xp_total(student.id) == 25


@pytest.mark.parametrize(
    "edge, before, after",
    [
        # Sunday 23:59:59 belongs to the ISO week that started Monday; Monday 00:00:00 starts the next.
        ("weekly", datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC), date(2026, 11, 23)),
        ("weekly", datetime(2026, 11, 30, 0, 0, 0, tzinfo=UTC), date(2026, 11, 30)),
        ("monthly", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), date(2026, 12, 1)),
        ("monthly", datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC), date(2027, 1, 1)),
    ],
)
def test_award_lands_on_the_board_of_its_period(student, edge, before, after):
    service.award_xp_at(user_id=student.id, type="lesson_complete", source_id=1, now=before)
    db.session.commit()
    assert board_score(leaderboards.board_key(edge, after), student.id) == 10
    other = leaderboards.previous_start(edge, after) if before.date() >= after else None
    if other:
        assert board_score(leaderboards.board_key(edge, other), student.id) is None


def test_periods():
    assert leaderboards.period_start("weekly", date(2026, 11, 25)) == date(2026, 11, 23)
    assert leaderboards.period_start("monthly", date(2026, 11, 25)) == date(2026, 11, 1)
    assert leaderboards.period_end("weekly", date(2026, 12, 28)) == date(2027, 1, 4)
    assert leaderboards.period_end("monthly", date(2026, 12, 1)) == date(2027, 1, 1)
    assert leaderboards.period_end("monthly", date(2028, 2, 1)) == date(2028, 3, 1)
    assert leaderboards.previous_start("monthly", date(2027, 1, 1)) == date(2026, 12, 1)
    assert leaderboards.previous_start("weekly", date(2026, 11, 30)) == date(2026, 11, 23)


def test_remove_user_from_boards(student):
    other = make_user()
    for user in (student, other):
        service.award_xp(user_id=user.id, type="quiz_pass", source_id=1, domain="design")
    db.session.commit()
    assert service.remove_user_from_boards(student.id) == 4  # weekly and monthly, overall and design
    assert (
        board_score(weekly_key(), student.id) is None
        and board_score(weekly_key("design"), student.id) is None
    )
    assert board_score(weekly_key(), other.id) == 20
    assert service.remove_user_from_boards(student.id) == 0
