"""Badges: each at threshold - 1 and at threshold, awarded once, in the unit of work that earns them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from common.accounts.models import User
from common.db import db
from common.flows import completion
from common.gamification import badges, service
from common.gamification.models import Badge, UserBadge, XpEvent
from common.quizzes.models import Quiz
from tests.concurrency import run_together
from tests.factories import enroll, make_course, make_user

NOON = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def held(user_id: int) -> set[str]:
    return set(
        db.session.execute(
            select(Badge.code)
            .join(UserBadge, UserBadge.badge_id == Badge.id)
            .where(UserBadge.user_id == user_id)
        ).scalars()
    )


def award_many(user_id: int, type: str, n: int, start: int = 1) -> None:
    for source in range(start, start + n):
        service.award_xp_at(
            user_id=user_id, type=type, source_id=source, now=NOON + timedelta(minutes=source)
        )


@pytest.mark.parametrize(
    "code, type, threshold",
    [
        ("first-lesson", "lesson_complete", 1),
        ("first-quiz", "quiz_pass", 1),
        ("first-post", "forum_post", 1),
    ],
)
def test_first_of_a_kind(student, code, type, threshold):
    assert code not in held(student.id)
    award_many(student.id, type, threshold)
    db.session.commit()
    assert code in held(student.id)


@pytest.mark.parametrize("code, threshold", [("xp-100", 100), ("xp-1000", 1000), ("xp-5000", 5000)])
def test_xp_badges_at_threshold_minus_one_and_at_threshold(app, student, code, threshold):
    db.session.execute(update(User).where(User.id == student.id).values(xp_total=threshold - 2))
    app.config["XP_LESSON_COMPLETE"] = 1
    try:
        award_many(student.id, "lesson_complete", 1)
        db.session.commit()
        assert code not in held(student.id)  # threshold - 1
        award_many(student.id, "lesson_complete", 1, start=2)
        db.session.commit()
    finally:
        app.config["XP_LESSON_COMPLETE"] = 10
    assert code in held(student.id)  # exactly the threshold


def test_streak_badge_at_six_and_seven_days_across_utc_midnight(student):
    # One event a day at 23:59:59 and the next one just after midnight: consecutive UTC days.
    day0 = datetime(2026, 11, 10, 23, 59, 59, tzinfo=UTC)
    moments = [day0, day0 + timedelta(seconds=1)] + [day0 + timedelta(days=d) for d in range(2, 6)]
    for n, moment in enumerate(moments):  # Nov 10, 11, 12, 13, 14, 15: six days
        service.award_xp_at(user_id=student.id, type="lesson_complete", source_id=n, now=moment)
    db.session.commit()
    assert badges.streak_days(student.id, moments[-1].date()) == 6
    assert "week-streak" not in held(student.id)
    service.award_xp_at(
        user_id=student.id,
        type="quiz_pass",
        source_id=1,
        now=datetime(2026, 11, 16, 0, 0, tzinfo=UTC),
    )
    db.session.commit()
    assert "week-streak" in held(student.id)


def test_a_gap_day_breaks_the_streak(student):
    days = [0, 1, 2, 4, 5, 6, 7]  # day 3 missing
    for n, d in enumerate(days):
        service.award_xp_at(
            user_id=student.id, type="lesson_complete", source_id=n, now=NOON + timedelta(days=d)
        )
    db.session.commit()
    assert "week-streak" not in held(student.id)
    assert badges.streak_days(student.id, (NOON + timedelta(days=7)).date()) == 4
    # Still current the day after, gone the day after that.
    assert badges.streak_days(student.id, (NOON + timedelta(days=8)).date(), alive_from_yesterday=True) == 4
    assert badges.streak_days(student.id, (NOON + timedelta(days=9)).date(), alive_from_yesterday=True) == 0


def complete_course(student, course) -> None:
    for lesson in course.modules[0].lessons:
        completion.complete_lesson(user_id=student.id, lesson_id=lesson.id)


def test_course_badges_at_one_four_and_five_completed_courses(student, instructor):
    courses = [make_course(instructor, lessons=1) for _ in range(5)]
    for course in courses:
        enroll(student, course)
    complete_course(student, courses[0])
    assert "first-course" in held(student.id) and "five-courses" not in held(student.id)
    for course in courses[1:4]:
        complete_course(student, course)
    assert "five-courses" not in held(student.id)
    progress = {b["code"]: b for b in service.my_badges(user_id=student.id)["progress"]}
    assert (progress["five-courses"]["current"], progress["five-courses"]["threshold"]) == (4, 5)
    complete_course(student, courses[4])
    assert "five-courses" in held(student.id)


def test_first_course_badge_through_a_quiz_completion(student, instructor):
    course = make_course(instructor, lessons=1, quizzes=1)
    enroll(student, course)
    complete_course(student, course)
    assert "first-course" not in held(student.id)  # the quiz is still missing
    quiz_id = db.session.execute(select(Quiz.id).where(Quiz.course_id == course.id)).scalar_one()
    outcome = completion.submit_attempt(
        quiz_id=quiz_id, user_id=student.id, role="student", selected_option=0
    )
    assert outcome.course_completed is True
    assert {"first-course", "first-quiz"} <= held(student.id)


def test_badges_are_awarded_once_under_concurrency(app, student):
    user_id = student.id

    def award(source):
        def call():
            service.award_xp(user_id=user_id, type="lesson_complete", source_id=source)
            db.session.commit()

        return call

    run_together(app, [award(n) for n in range(6)])
    first = db.session.execute(select(Badge.id).where(Badge.code == "first-lesson")).scalar_one()
    assert (
        db.session.execute(
            select(func.count()).select_from(UserBadge).where(UserBadge.badge_id == first)
        ).scalar_one()
        == 1
    )


def test_grant_badge(student):
    assert service.grant_badge(user_id=student.id, code="helpful-answer") is True
    assert service.grant_badge(user_id=student.id, code="helpful-answer") is False
    assert service.grant_badge(user_id=student.id, code="no-such-badge") is False
    db.session.commit()
    assert held(student.id) == {"helpful-answer"}
    earned = service.my_badges(user_id=student.id)["earned"]
    assert [b["code"] for b in earned] == ["helpful-answer"] and earned[0]["awarded_at"] is not None


def test_external_counter_shows_progress(student):
    saved = badges.EXTERNAL_COUNTERS.get("reply_upvotes")
    badges.register_counter("reply_upvotes", lambda user_id: 9 if user_id == student.id else 0)
    try:
        progress = {b["code"]: b for b in service.my_badges(user_id=student.id)["progress"]}
    finally:
        badges.EXTERNAL_COUNTERS.pop("reply_upvotes")
        if saved is not None:  # the forum's own counter, registered when it is imported
            badges.register_counter("reply_upvotes", saved)
    assert (progress["helpful-answer"]["current"], progress["helpful-answer"]["threshold"]) == (9, 10)


def test_progress_is_capped_at_the_threshold(student):
    award_many(student.id, "lesson_complete", 2)
    db.session.execute(update(User).where(User.id == student.id).values(xp_total=120))
    db.session.commit()
    result = service.my_badges(user_id=student.id)
    assert {"first-lesson"} <= {b["code"] for b in result["earned"]}
    progress = {b["code"]: b["current"] for b in result["progress"]}
    assert progress["xp-1000"] == 120 and "first-lesson" not in progress


def test_ensure_badges_is_idempotent_and_updates_changed_lines(student):
    count = db.session.execute(select(func.count()).select_from(Badge)).scalar_one()
    assert count == len(badges.BADGES)
    db.session.execute(update(Badge).where(Badge.code == "xp-100").values(name="old"))
    db.session.commit()
    service.ensure_badges()
    assert db.session.execute(select(func.count()).select_from(Badge)).scalar_one() == count
    assert db.session.execute(select(Badge.name).where(Badge.code == "xp-100")).scalar_one() == "100 XP"
    assert (
        db.session.execute(select(Badge.threshold).where(Badge.code == "helpful-answer")).scalar_one() == 10
    )
    assert (
        db.session.execute(select(Badge.criterion).where(Badge.code == "helpful-answer")).scalar_one()
        == "reply_upvotes"
    )


def test_revoking_keeps_earned_badges(student):
    award_many(student.id, "forum_post", 1)
    db.session.commit()
    service.revoke_xp(user_id=student.id, type="forum_post", source_id=1)
    db.session.commit()
    assert "first-post" in held(student.id)
    assert db.session.execute(select(func.count()).select_from(XpEvent)).scalar_one() == 0


def test_other_users_are_untouched(student):
    other = make_user()
    award_many(student.id, "lesson_complete", 1)
    db.session.commit()
    assert held(other.id) == set()
