"""Who may read and write a course's forum, and loading posts and replies the caller may see.

Readers: students with an active enrollment, the course's instructor, admins. Anyone else gets a
404 for the course's posts and for every post or reply id in it, as do non-admins for hidden items.
Writers: enrolled students and the course's instructor (admins moderate).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from common.catalog.access import enrolled_clause, is_enrolled
from common.catalog.models import Course
from common.db import db
from common.errors import Forbidden, not_found
from common.forum.models import Post, Reply


def is_instructor(course: Course, user_id: int | None) -> bool:
    return user_id is not None and course.instructor_id == user_id


def can_read(course: Course, user_id: int | None, role: str | None) -> bool:
    return role == "admin" or is_instructor(course, user_id) or is_enrolled(user_id, course.id)


def may_read(instructor_id: int, enrolled: bool, user_id: int | None, role: str | None) -> bool:
    """The readers' rule, for a course whose instructor and the caller's enrollment are known."""
    return role == "admin" or (user_id is not None and instructor_id == user_id) or bool(enrolled)


def forum_course(course_id: int, user_id: int | None, role: str | None) -> Course:
    """The course if the caller may read its forum; NotFound otherwise (one query: the course with
    the caller's enrollment)."""
    row = db.session.execute(
        select(Course, enrolled_clause(user_id, Course.id)).where(Course.id == course_id)
    ).first()
    if row is None or not may_read(row[0].instructor_id, row[1], user_id, role):
        raise not_found("Course", course_id)
    return row[0]


_INSTRUCTOR_AND_ENROLLED = select(
    Course.instructor_id, enrolled_clause(bindparam("user_id"), Course.id).label("enrolled")
).where(Course.id == bindparam("course_id"))


def forum_instructor(connection, course_id: int, user_id: int, role: str | None) -> int:
    """forum_course on a plain connection (common.db.read_connection) for the hot list: the course's
    instructor id if the caller may read its forum; NotFound otherwise."""
    row = connection.execute(_INSTRUCTOR_AND_ENROLLED, {"course_id": course_id, "user_id": user_id}).first()
    if row is None or not may_read(row.instructor_id, row.enrolled, user_id, role):
        raise not_found("Course", course_id)
    return row.instructor_id


def require_writer(course: Course, user_id: int, role: str | None) -> None:
    """Forbidden unless the caller is the course's instructor or an enrolled student (readers only)."""
    if is_instructor(course, user_id) or (role != "admin" and is_enrolled(user_id, course.id)):
        return
    raise Forbidden("Only enrolled students and the course's instructor write in its forum")


def author_role(course: Course, user) -> str:
    """The role shown next to an author: `instructor` for the course's own instructor."""
    return shown_role(user.id, user.role, course.instructor_id)


def shown_role(author_id: int, role: str, instructor_id: int) -> str:
    """author_role from plain values."""
    return "instructor" if author_id == instructor_id else role


def visible_post(
    post_id: int, user_id: int | None, role: str | None, *, lock: bool = False
) -> tuple[Post, Course]:
    """The post and its course if the caller may read it (hidden posts: admins only)."""
    stmt = select(Post).where(Post.id == post_id)
    if lock:
        # Serialises votes, flags and moderation of this post (the row, not its author's).
        stmt = stmt.with_for_update(of=Post).execution_options(populate_existing=True)
    post = db.session.execute(stmt).scalar_one_or_none()
    if post is None:
        raise not_found("Post", post_id)
    course = db.session.get(Course, post.course_id)
    if not can_read(course, user_id, role) or (post.hidden and role != "admin"):
        raise not_found("Post", post_id)
    return post, course


def visible_reply(
    reply_id: int, user_id: int | None, role: str | None, *, lock: bool = False
) -> tuple[Reply, Post, Course]:
    """The reply, its post and course if the caller may read it (hidden reply or post: admins only)."""
    stmt = select(Reply).where(Reply.id == reply_id)
    if lock:
        stmt = stmt.with_for_update(of=Reply).execution_options(populate_existing=True)
    reply = db.session.execute(stmt).scalar_one_or_none()
    if reply is None:
        raise not_found("Reply", reply_id)
    post = db.session.get(Post, reply.post_id)
    course = db.session.get(Course, post.course_id)
    if not can_read(course, user_id, role) or ((reply.hidden or post.hidden) and role != "admin"):
        raise not_found("Reply", reply_id)
    return reply, post, course
