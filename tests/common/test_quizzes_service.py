"""The quiz service on its own: the rules hold for every caller (CLI, seed, API), not only the schemas."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from common.db import db
from common.errors import Conflict, Forbidden, NotFound, ValidationError
from common.flows import completion
from common.quizzes import service
from common.quizzes.models import Quiz, QuizResult
from tests.embedded import run_on_sqlite
from tests.factories import enroll, make_course, make_quiz, make_user


@pytest.fixture
def course():
    return make_course(make_user("instructor"))


def _create(course, **overrides):
    values = dict(
        module_id=course.modules[0].id,
        user_id=course.instructor_id,
        role="instructor",
        question="Q?",
        options=["a", "b"],
        correct_option=0,
    )
    values.update(overrides)
    return service.create_quiz(**values)


def test_create_trims_and_appends(course):
    first = _create(course, question="  Why?  ", options=[" x ", "y"])
    second = _create(course)
    assert (first.question, first.options, first.position, second.position) == ("Why?", ["x", "y"], 0, 1)
    assert first.course_id == course.id


@pytest.mark.parametrize(
    "field, overrides",
    [
        ("options", {"options": "ab"}),
        ("options", {"options": ["a"]}),
        ("options", {"options": [str(i) for i in range(11)]}),
        ("options", {"options": ["a", 1]}),
        ("options", {"options": ["a", "  "]}),
        ("options", {"options": ["a", "b" * 501]}),
        ("options", {"options": ["A", "a"]}),
        ("correct_option", {"correct_option": 2}),
        ("correct_option", {"correct_option": -1}),
        ("correct_option", {"correct_option": True}),
        ("correct_option", {"correct_option": "0"}),
        ("question", {"question": " "}),
        ("question", {"question": None}),
        ("question", {"question": "q" * 2001}),
        ("max_attempts", {"max_attempts": 0}),
        ("max_attempts", {"max_attempts": False}),
        ("position", {"position": -3}),
        ("position", {"position": True}),
    ],
)
def test_create_validates_everything(course, field, overrides):
    with pytest.raises(ValidationError) as caught:
        _create(course, **overrides)
    assert field in caught.value.errors["json"]
    assert db.session.execute(select(func.count()).select_from(Quiz)).scalar_one() == 0


def test_update_rules(course):
    quiz = make_quiz(course.modules[0], options=["a", "b", "c"], correct_option=2)
    owner = dict(user_id=course.instructor_id, role="instructor")
    with pytest.raises(ValidationError):
        service.update_quiz(quiz_id=quiz.id, **owner, course_id=9)
    with pytest.raises(ValidationError) as caught:
        service.update_quiz(quiz_id=quiz.id, **owner, options=["a", "b"], question="changed?")
    assert "correct_option" in caught.value.errors["json"]
    with pytest.raises(ValidationError):
        service.update_quiz(quiz_id=quiz.id, **owner, position=-1)
    db.session.expire_all()
    assert (quiz.options, quiz.question, quiz.position) == (["a", "b", "c"], "Pick one?", 0)
    updated = service.update_quiz(
        quiz_id=quiz.id, **owner, options=["a", "b"], correct_option=1, position=4, max_attempts=None
    )
    assert (updated.options, updated.correct_option, updated.position) == (["a", "b"], 1, 4)


def test_ownership_and_visibility(course):
    quiz = make_quiz(course.modules[0])
    other = make_user("instructor")
    with pytest.raises(Forbidden):
        service.delete_quiz(quiz_id=quiz.id, user_id=other.id, role="instructor")
    with pytest.raises(NotFound):
        service.update_quiz(
            quiz_id=quiz.id + 100, user_id=course.instructor_id, role="instructor", question="x"
        )
    course.status = "draft"
    db.session.commit()
    with pytest.raises(NotFound):
        service.visible_quiz(quiz.id, None, None)
    assert service.visible_quiz(quiz.id, None, "admin").id == quiz.id


def test_attempts_through_the_service(course):
    quiz = make_quiz(course.modules[0], options=["a", "b"], correct_option=0, max_attempts=1)
    student = make_user("student")
    with pytest.raises(Forbidden):
        completion.submit_attempt(quiz_id=quiz.id, user_id=student.id, role="student", selected_option=0)
    enroll(student, course)
    with pytest.raises(ValidationError):
        completion.submit_attempt(quiz_id=quiz.id, user_id=student.id, role="student", selected_option=False)
    with pytest.raises(ValidationError):
        completion.submit_attempt(quiz_id=quiz.id, user_id=student.id, role="student", selected_option=2)
    outcome = completion.submit_attempt(
        quiz_id=quiz.id, user_id=student.id, role="student", selected_option=1
    )
    assert outcome.result["is_correct"] is False and outcome.attempts_left == 0
    with pytest.raises(Conflict):
        completion.submit_attempt(quiz_id=quiz.id, user_id=student.id, role="student", selected_option=0)
    assert db.session.execute(select(func.count()).select_from(QuizResult)).scalar_one() == 1
    # A refused attempt leaves the session usable (the lock was released by a rollback).
    assert service.list_results(user_id=student.id, page=1, per_page=5).total == 1


SQLITE_ATTEMPTS = r"""
from web.app import create_app
from common.db import db
from common.errors import Conflict
from common.flows import completion
from common.quizzes.models import QuizResult
from tests.factories import enroll, make_course, make_quiz, make_user

app = create_app()
with app.app_context():
    db.create_all()
    course = make_course(make_user("instructor"), lessons=2)
    quiz = make_quiz(course.modules[0], correct_option=1, max_attempts=2)
    student = make_user("student")
    enroll(student, course)
    attempt = lambda option: completion.submit_attempt(
        quiz_id=quiz.id, user_id=student.id, role="student", selected_option=option
    )
    first = attempt(0)
    assert (first.attempts_used, first.passed, first.result["correct_option"]) == (1, False, None), first
    second = attempt(1)
    assert (second.attempts_used, second.passed, second.result["correct_option"]) == (2, True, 1), second
    assert second.xp_awarded > 0, second
    try:
        attempt(1)
    except Conflict as exc:
        assert "2 attempts" in str(exc), exc
    else:
        raise AssertionError("a third attempt was accepted")
    rows = db.session.execute(db.select(QuizResult.is_correct).order_by(QuizResult.id)).scalars().all()
    assert rows == [False, True], rows
    lesson = course.modules[0].lessons[0].id
    done = completion.complete_lesson(user_id=student.id, lesson_id=lesson)
    assert not done["already_completed"] and done["xp_awarded"] > 0, done
    again = completion.complete_lesson(user_id=student.id, lesson_id=lesson)
    assert again["already_completed"] and again["xp_awarded"] == 0, again
    print("ok")
"""


def test_attempts_on_the_embedded_default(tmp_path):
    """SQLite (no INSERT inside WITH) counts and stores an attempt, and locks and records a lesson,
    in two statements each: the same rules as PostgreSQL's single statements."""
    result = run_on_sqlite(SQLITE_ATTEMPTS, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
