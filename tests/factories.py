"""Test-data factories: real rows through the ORM, and tokens minted like login does."""

from __future__ import annotations

import itertools

import pytest

from common.accounts import tokens
from common.accounts.models import User
from common.accounts.passwords import hash_password
from common.catalog.models import Course, Lesson, Module
from common.db import db
from common.learning.models import Enrollment
from common.quizzes.models import Quiz

PASSWORD = "correct horse battery"
_PASSWORD_HASH = None
_seq = itertools.count(1)


def _password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


def make_user(
    role: str = "student", *, email: str | None = None, name: str | None = None, status: str = "active"
) -> User:
    n = next(_seq)
    user = User(
        email=email or f"{role}{n}@example.com",
        name=name or f"{role.title()} {n}",
        role=role,
        status=status,
        password_hash=_password_hash(),
    )
    db.session.add(user)
    db.session.commit()
    return user


def auth_headers(user: User) -> dict:
    """Authorization header for a user, minted exactly as login does."""
    return {"Authorization": f"Bearer {tokens.issue_tokens(user)['access_token']}"}


def make_course(
    instructor: User,
    *,
    status: str = "approved",
    price: int = 0,
    domain: str = "web-development",
    title: str | None = None,
    modules: int = 1,
    lessons: int = 2,
    quizzes: int = 0,
    description: str = "A course.",
) -> Course:
    """A course with `modules` modules of `lessons` lessons (and `quizzes` quizzes) each."""
    n = next(_seq)
    course = Course(
        instructor_id=instructor.id,
        title=title or f"Course {n}",
        description=description,
        domain=domain,
        price=price,
        currency="INR",
        status=status,
    )
    db.session.add(course)
    db.session.flush()
    for m in range(modules):
        module = Module(course_id=course.id, title=f"Module {m + 1}", position=m)
        db.session.add(module)
        db.session.flush()
        for i in range(lessons):
            db.session.add(
                Lesson(
                    module_id=module.id,
                    course_id=course.id,
                    title=f"Lesson {m + 1}.{i + 1}",
                    position=i,
                    video_url=f"https://video.example.com/{course.id}/{m}/{i}.mp4",
                )
            )
        for q in range(quizzes):
            db.session.add(
                Quiz(
                    module_id=module.id,
                    course_id=course.id,
                    question=f"Q{q + 1}?",
                    options=["yes", "no", "maybe"],
                    correct_option=0,
                    position=q,
                )
            )
    db.session.commit()
    return course


def enroll(user: User, course: Course, source: str = "free") -> Enrollment:
    enrollment = Enrollment(user_id=user.id, course_id=course.id, source=source)
    db.session.add(enrollment)
    course.enrollment_count += 1
    db.session.commit()
    return enrollment


@pytest.fixture
def student():
    return make_user("student")


@pytest.fixture
def instructor():
    return make_user("instructor")


@pytest.fixture
def admin():
    return make_user("admin")


def make_quiz(
    module: Module,
    *,
    question: str = "Pick one?",
    options: list | None = None,
    correct_option: int = 0,
    max_attempts: int | None = None,
    position: int | None = None,
) -> Quiz:
    """A quiz on `module` (after its last quiz unless `position` is given)."""
    if position is None:
        position = db.session.query(Quiz).filter_by(module_id=module.id).count()
    quiz = Quiz(
        module_id=module.id,
        course_id=module.course_id,
        question=question,
        options=options or ["yes", "no", "maybe"],
        correct_option=correct_option,
        max_attempts=max_attempts,
        position=position,
    )
    db.session.add(quiz)
    db.session.commit()
    return quiz


def make_certificate(
    user: User,
    course: Course,
    *,
    status: str = "pending",
    revoked: bool = False,
    verification_code: str | None = None,
):
    """A certificate row for (user, course) as request_certificate would snapshot it (nothing rendered)."""
    from common.certificates.models import Certificate
    from common.db import utcnow

    n = next(_seq)
    certificate = Certificate(
        user_id=user.id,
        course_id=course.id,
        learner_name=user.name,
        course_title=course.title,
        instructor_name=course.instructor.name,
        verification_code=verification_code or f"code-{n}-test",
        status=status,
        revoked_at=utcnow() if revoked else None,
        revoke_reason="refund" if revoked else None,
    )
    db.session.add(certificate)
    db.session.commit()
    return certificate
