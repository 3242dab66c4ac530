"""The quiz-authoring world (an approved course, two quizzes, a user of every kind) and its helpers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.db import db
from common.quizzes.models import Quiz, QuizResult
from tests.factories import auth_headers, enroll, make_course, make_user

VALID = {"question": "What is 2 + 2?", "options": ["3", "4", "5"], "correct_option": 1}


def find_key(body, key: str) -> bool:
    """True if `key` appears in any dict anywhere inside the JSON body."""
    if isinstance(body, dict):
        return key in body or any(find_key(v, key) for v in body.values())
    if isinstance(body, list):
        return any(find_key(v, key) for v in body)
    return False


@pytest.fixture
def world():
    """An approved course with one module and two quizzes, plus one user of every kind."""
    owner = make_user("instructor")
    course = make_course(owner, quizzes=2)
    module = course.modules[0]
    enrolled = make_user("student")
    enroll(enrolled, course)
    users = {
        "owner": owner,
        "other_instructor": make_user("instructor"),
        "admin": make_user("admin"),
        "enrolled": enrolled,
        "stranger": make_user("student"),
    }
    return {
        "course": course,
        "module": module,
        "users": users,
        "headers": {name: auth_headers(user) for name, user in users.items()},
    }


def quiz_rows():
    return db.session.execute(select(Quiz).order_by(Quiz.id)).scalars().all()


def add_attempt(quiz: Quiz, user, *, selected: int, correct: bool) -> None:
    """Record an attempt of `user` at `quiz` straight in the table (the caller commits)."""
    db.session.add(
        QuizResult(
            quiz_id=quiz.id,
            user_id=user.id,
            module_id=quiz.module_id,
            course_id=quiz.course_id,
            selected_option=selected,
            is_correct=correct,
            correct_option=quiz.correct_option,
        )
    )
