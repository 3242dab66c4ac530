"""Who may see or change which course: one place for visibility, ownership and enrollment checks.

The rule of the API: an object the caller may not see is a 404 (never leak existence); an object
the caller may see but not change is a 403.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, select

from common.catalog.models import Course, Lesson, Module
from common.db import db
from common.errors import Forbidden, not_found
from common.learning.models import Enrollment


def enrolled_clause(user_id: int | None, course_id) -> ColumnElement[bool]:
    """SQL for "the user holds an active enrollment in the course" (`course_id`: a value or a column),
    to ride along in another query."""
    if user_id is None:
        return false()
    return exists().where(
        Enrollment.user_id == user_id,
        Enrollment.course_id == course_id,
        Enrollment.status == "active",
    )


def is_enrolled(user_id: int | None, course_id: int) -> bool:
    """True if the user holds an active enrollment in the course."""
    if user_id is None:
        return False
    return db.session.execute(select(enrolled_clause(user_id, course_id))).scalar()


def can_see(course: Course, user_id: int | None, role: str | None) -> bool:
    """Approved courses: everyone; any course: its owner and admins; a course once published and since
    unpublished (it keeps `approved_at`): the students still enrolled in it."""
    if (
        course.status == "approved"
        or role == "admin"
        or (user_id is not None and course.instructor_id == user_id)
    ):
        return True
    return course.approved_at is not None and is_enrolled(user_id, course.id)


def is_owner_or_admin(course: Course, user_id: int | None, role: str | None) -> bool:
    return role == "admin" or (user_id is not None and course.instructor_id == user_id)


def visible_course(course_id: int, user_id: int | None, role: str | None) -> Course:
    """The course if the caller may see it (approved, or owner/admin); NotFound otherwise."""
    course = db.session.get(Course, course_id)
    if course is None or not can_see(course, user_id, role):
        raise not_found("Course", course_id)
    return course


def owned_course(course_id: int, user_id: int, role: str) -> Course:
    """The course if the caller owns it (or is an admin): 404 if invisible, 403 if visible only."""
    course = visible_course(course_id, user_id, role)
    if not is_owner_or_admin(course, user_id, role):
        raise Forbidden("Only the course's instructor may change it")
    return course


def visible_module(module_id: int, user_id: int | None, role: str | None) -> Module:
    module = db.session.get(Module, module_id)
    if module is None or not can_see(module.course, user_id, role):
        raise not_found("Module", module_id)
    return module


def owned_module(module_id: int, user_id: int, role: str) -> Module:
    module = visible_module(module_id, user_id, role)
    if not is_owner_or_admin(module.course, user_id, role):
        raise Forbidden("Only the course's instructor may change it")
    return module


def visible_lesson(lesson_id: int, user_id: int | None, role: str | None) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or not can_see(lesson.module.course, user_id, role):
        raise not_found("Lesson", lesson_id)
    return lesson


def owned_lesson(lesson_id: int, user_id: int, role: str) -> Lesson:
    lesson = visible_lesson(lesson_id, user_id, role)
    if not is_owner_or_admin(lesson.module.course, user_id, role):
        raise Forbidden("Only the course's instructor may change it")
    return lesson


def require_content_access(course: Course, user_id: int | None, role: str | None) -> None:
    """Lesson content, quizzes and forum: enrolled students, the owner and admins."""
    if is_owner_or_admin(course, user_id, role):
        return
    if not is_enrolled(user_id, course.id):
        raise Forbidden("Enroll in this course first")
