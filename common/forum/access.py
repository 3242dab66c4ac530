"""Who may read and write a course's forum, and loading posts and replies the caller may see.

Readers: students with an active enrollment, the course's instructor, admins. Anyone else gets a
404 for the course's posts and for every post or reply id in it, as do non-admins for hidden items.
Writers: enrolled students and the course's instructor (admins moderate).
"""

from __future__ import annotations

from sqlalchemy import select

from common.catalog.access import enrolled_clause, is_enrolled
from common.catalog.models import Course
from common.db import db
from common.errors import Forbidden, not_found
from common.forum.models import Post, Reply


def is_instructor(course: Course, user_id: int | None) -> bool:
    return user_id is not None and course.instructor_id == user_id


def can_read(course: Course, user_id: int | None, role: str | None) -> bool:
    return role == "admin" or is_instructor(course, user_id) or is_enrolled(user_id, course.id)


def forum_course(course_id: int, user_id: int | None, role: str | None) -> Course:
    """The course if the caller may read its forum; NotFound otherwise (one query: the course with
    the caller's enrollment)."""
    row = db.session.execute(
        select(Course, enrolled_clause(user_id, Course.id)).where(Course.id == course_id)
    ).first()
    if row is None:
        raise not_found("Course", course_id)
    course, enrolled = row
    if not (role == "admin" or is_instructor(course, user_id) or enrolled):
        raise not_found("Course", course_id)
    return course


def require_writer(course: Course, user_id: int, role: str | None) -> None:
    """Forbidden unless the caller is the course's instructor or an enrolled student (readers only)."""
    if is_instructor(course, user_id) or (role != "admin" and is_enrolled(user_id, course.id)):
        return
    raise Forbidden("Only enrolled students and the course's instructor write in its forum")


def author_role(course: Course, user) -> str:
    """The role shown next to an author: `instructor` for the course's own instructor."""
    return "instructor" if user.id == course.instructor_id else user.role


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
