"""Learning service: the course-completion rule, exactly-once stamping, enrollment rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from common.certificates.models import Certificate
from common.db import db
from common.errors import Conflict, Forbidden, NotFound, PaymentRequired
from common.flows import completion
from common.gamification.models import XpEvent
from common.learning import service
from common.learning.models import Enrollment, LessonProgress
from common.quizzes.models import Quiz, QuizResult
from tests.concurrency import run_together
from tests.factories import enroll, make_course, make_user


def _finish_lessons(user, course):
    for module in course.modules:
        for lesson in module.lessons:
            db.session.add(LessonProgress(user_id=user.id, lesson_id=lesson.id, course_id=course.id))
    db.session.commit()


def _answer(user, quiz, correct):
    db.session.add(
        QuizResult(
            quiz_id=quiz.id,
            user_id=user.id,
            module_id=quiz.module_id,
            course_id=quiz.course_id,
            selected_option=quiz.correct_option if correct else quiz.correct_option + 1,
            is_correct=correct,
            correct_option=quiz.correct_option,
        )
    )
    db.session.commit()


def _completed_at(user, course):
    return db.session.execute(
        select(Enrollment.completed_at).where(
            Enrollment.user_id == user.id, Enrollment.course_id == course.id
        )
    ).scalar_one()


def _certificates():
    return db.session.scalar(select(func.count()).select_from(Certificate))


def _stamp(user_id, course_id):
    """The rule the completion flow applies after each lesson or correct answer, committed."""
    stamped = service.stamp_if_complete(user_id=user_id, course_id=course_id)
    db.session.commit()
    return stamped


def test_course_without_lessons_never_completes(instructor, student):
    course = make_course(instructor, modules=1, lessons=0)
    enroll(student, course)
    assert _stamp(student.id, course.id) is False
    assert _completed_at(student, course) is None


def test_lessons_and_quizzes_required(instructor, student):
    course = make_course(instructor, modules=2, lessons=1, quizzes=1)
    enroll(student, course)
    quizzes = db.session.execute(select(Quiz)).scalars().all()
    assert _stamp(student.id, course.id) is False
    _finish_lessons(student, course)
    assert _stamp(student.id, course.id) is False
    _answer(student, quizzes[0], True)
    _answer(student, quizzes[1], False)
    assert _stamp(student.id, course.id) is False
    assert _completed_at(student, course) is None
    _answer(student, quizzes[1], True)
    _answer(student, quizzes[1], True)  # a second correct answer counts once
    assert _stamp(student.id, course.id) is True
    assert _completed_at(student, course) is not None
    # a later call does not complete it again
    assert _stamp(student.id, course.id) is False


def test_other_users_progress_does_not_count(instructor, student):
    course = make_course(instructor, lessons=1)
    enroll(student, course)
    other = make_user("student")
    enroll(other, course)
    _finish_lessons(other, course)
    assert _stamp(student.id, course.id) is False
    assert _stamp(other.id, course.id) is True


def test_revoked_enrollment_is_not_stamped(instructor, student):
    course = make_course(instructor, lessons=1)
    enrollment = enroll(student, course)
    enrollment.status = "revoked"
    db.session.commit()
    _finish_lessons(student, course)
    assert _stamp(student.id, course.id) is False


def test_exactly_one_concurrent_caller_wins(app, instructor):
    students = [make_user("student") for _ in range(2)]
    course = make_course(instructor, lessons=2)
    for student in students:
        enroll(student, course)
        _finish_lessons(student, course)
    course_id, student_ids = course.id, [s.id for s in students]

    def check(user_id):
        return lambda: (user_id, _stamp(user_id, course_id))

    results = run_together(app, [check(student_ids[n % 2]) for n in range(8)])
    winners = sorted(user_id for user_id, won in results if won)
    assert len(results) == 8
    assert winners == sorted(s.id for s in students)


def test_complete_lesson_concurrently_awards_once(app, instructor, student):
    course = make_course(instructor, lessons=1)
    enroll(student, course)
    lesson_id, student_id = course.modules[0].lessons[0].id, student.id

    def complete():
        return completion.complete_lesson(user_id=student_id, lesson_id=lesson_id)

    outcomes = run_together(app, [complete] * 4)
    assert sorted(o["already_completed"] for o in outcomes) == [False, True, True, True]
    assert sum(o["xp_awarded"] for o in outcomes) == 10
    assert sum(o["course_newly_completed"] for o in outcomes) == 1
    assert db.session.scalar(select(func.count()).select_from(XpEvent)) == 1
    assert _certificates() == 1


def test_enroll_free_rules(instructor, student):
    free, paid = make_course(instructor), make_course(instructor, price=100)
    enrollment = service.enroll_free(user_id=student.id, course_id=free.id)
    assert (enrollment.source, enrollment.status) == ("free", "active")
    with pytest.raises(Conflict):
        service.enroll_free(user_id=student.id, course_id=free.id)
    with pytest.raises(PaymentRequired):
        service.enroll_free(user_id=student.id, course_id=paid.id)
    with pytest.raises(Forbidden):
        service.enroll_free(user_id=instructor.id, course_id=free.id, role="instructor")
    draft = make_course(instructor, status="draft")
    with pytest.raises(NotFound):
        service.enroll_free(user_id=instructor.id, course_id=draft.id, role=None)


def test_percent():
    assert service.percent(0, 0) == 0
    assert service.percent(1, 3) == 33
    assert service.percent(3, 3) == 100


def test_grant_and_revoke_keep_counter(instructor, student):
    course = make_course(instructor)
    assert service.grant_enrollment(user_id=student.id, course_id=course.id, source="admin") is True
    assert service.grant_enrollment(user_id=student.id, course_id=course.id, source="admin") is False
    assert service.revoke_enrollment(user_id=student.id, course_id=course.id) is True
    assert service.revoke_enrollment(user_id=student.id, course_id=course.id) is False
    assert service.grant_enrollment(user_id=student.id, course_id=course.id, source="payment") is True
    db.session.commit()
    db.session.expire_all()
    assert course.enrollment_count == 1
