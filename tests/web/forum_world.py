"""A course with every kind of forum caller, and helpers shared by the forum tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from common.accounts.models import User
from common.catalog.models import Course
from common.db import db
from common.forum.models import Post, Reply
from tests.factories import auth_headers, enroll, make_course, make_user

# Callers who may not read the course's forum: 404 for everything in it.
OUTSIDERS = ("outsider", "other_instructor", "refunded")


@dataclass
class World:
    instructor: User
    course: Course
    author: User  # an enrolled student who writes
    reader: User  # another enrolled student
    outsider: User  # a student not enrolled
    other_instructor: User
    refunded: User  # enrolled once, refunded (enrollment revoked)
    admin: User
    other_course: Course

    def h(self, name: str | None) -> dict:
        return auth_headers(getattr(self, name)) if name else {}

    @property
    def module_id(self) -> int:
        return self.course.modules[0].id


@pytest.fixture
def world() -> World:
    instructor = make_user("instructor", name="Ira Instructor")
    course = make_course(instructor, modules=2, domain="data-science")
    author, reader = make_user("student", name="Ann Author"), make_user("student", name="Rita Reader")
    enroll(author, course)
    enroll(reader, course)
    refunded = make_user("student")
    enrollment = enroll(refunded, course, source="payment")
    enrollment.status = "revoked"
    other_instructor = make_user("instructor")
    other_course = make_course(other_instructor)
    db.session.commit()
    return World(
        instructor=instructor,
        course=course,
        author=author,
        reader=reader,
        outsider=make_user("student"),
        other_instructor=other_instructor,
        refunded=refunded,
        admin=make_user("admin"),
        other_course=other_course,
    )


def make_post(
    world: World,
    user: User | None = None,
    *,
    title: str = "How do joins work?",
    body: str = "I am stuck on lesson 2.",
    votes: int = 0,
    module_id: int | None = None,
    hidden: bool = False,
) -> Post:
    post = Post(
        course_id=world.course.id,
        user_id=(user or world.author).id,
        title=title,
        body=body,
        votes=votes,
        module_id=module_id,
        hidden=hidden,
    )
    db.session.add(post)
    db.session.commit()
    return post


def make_reply(
    post: Post, user: User, *, body: str = "Try an outer join.", votes: int = 0, hidden: bool = False
) -> Reply:
    reply = Reply(post_id=post.id, user_id=user.id, body=body, votes=votes, hidden=hidden)
    db.session.add(reply)
    if not hidden:
        post.reply_count += 1
    db.session.commit()
    return reply


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))
