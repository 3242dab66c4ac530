"""Forum rules: posts and replies of a course's Q&A, edits, deletes and the accepted answer.

Bodies are stored and returned exactly as written (plain text / Markdown source); nothing here
renders HTML. Votes live in forum.votes, flags and moderation in forum.moderation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import bindparam, case, delete, func, literal_column, or_, select, update
from sqlalchemy.orm import aliased

from common.accounts.models import User
from common.admin import audit
from common.catalog.access import enrolled_clause
from common.catalog.models import Course, Module
from common.db import LIKE_ESCAPE, built_once, contains_pattern, db, is_postgres, read_connection, utcnow
from common.errors import Forbidden, ValidationError, not_found
from common.forum.access import (
    author_role,
    forum_course,
    forum_instructor,
    is_instructor,
    may_read,
    require_writer,
    shown_role,
    visible_post,
    visible_reply,
)
from common.forum.models import Flag, Post, Reply, Vote
from common.gamification.service import award_xp, revoke_xp
from common.pagination import Page, paginate, paginate_counted

TITLE_MIN, TITLE_MAX = 5, 200
BODY_MIN, BODY_MAX = 1, 20_000
SORTS = ("newest", "top", "unanswered")
# C0 and C1 control characters other than tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Exactly the expression of the GIN index ix_posts_search, as literal SQL so the planner matches it.
_SEARCH_VECTOR = literal_column(
    "to_tsvector('english', coalesce(posts.title, '') || ' ' || coalesce(posts.body, ''))"
)


@dataclass
class PostView:
    """A post as one caller sees it."""

    post: Post
    author_role: str
    my_vote: int = 0
    accepted_reply_id: int | None = None
    xp_awarded: int | None = None


@dataclass
class ReplyView:
    """A reply as one caller sees it."""

    reply: Reply
    author_role: str
    my_vote: int = 0
    is_accepted: bool = False


def invalid(field: str, message: str) -> ValidationError:
    return ValidationError("Validation failed", errors={"json": {field: [message]}})


def clean_text(field: str, value, *, min_length: int, max_length: int) -> str:
    """Trimmed text of min..max characters without control characters (tab and newlines allowed)."""
    if not isinstance(value, str):
        raise invalid(field, "Must be a string.")
    text = value.strip()
    if not min_length <= len(text) <= max_length:
        raise invalid(field, f"Must be between {min_length} and {max_length} characters (trimmed).")
    if _CONTROL.search(text):
        raise invalid(field, "Must not contain control characters.")
    return text


def _check_module(course_id: int, module_id: int | None, execute=None) -> int | None:
    """`module_id` if it is a module of the course (None stays None); 422 otherwise. `execute`: a plain
    connection's, else the Session's."""
    if module_id is None:
        return None
    owner = (execute or db.session.execute)(select(Module.course_id).where(Module.id == module_id)).scalar()
    if owner != course_id:
        raise invalid("module_id", f"Module {module_id} is not a module of course {course_id}.")
    return module_id


def _accepted_shown(post: Post, role: str | None) -> int | None:
    """The accepted reply's id, unless that reply is hidden from this caller."""
    if post.accepted_reply_id is None or role == "admin":
        return post.accepted_reply_id
    hidden = db.session.execute(select(Reply.hidden).where(Reply.id == post.accepted_reply_id)).scalar()
    return None if hidden else post.accepted_reply_id


def _my_vote(user_id: int, *, post_id: int | None = None, reply_id: int | None = None) -> int:
    target = Vote.post_id == post_id if post_id is not None else Vote.reply_id == reply_id
    return db.session.execute(select(Vote.value).where(target, Vote.user_id == user_id)).scalar() or 0


def _post_view(post: Post, course: Course, user_id: int, role: str | None) -> PostView:
    return PostView(
        post, author_role(course, post.user), _my_vote(user_id, post_id=post.id), _accepted_shown(post, role)
    )


# ---- posts ----------------------------------------------------------------------------------


def list_posts(
    *,
    course_id: int,
    user_id: int,
    role: str | None,
    module_id: int | None = None,
    sort: str = "newest",
    q: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """A course's posts with the caller's vote, as plain dicts (the list is a hot read), in one query
    (two with `module_id`, which is checked: 422): the page with its total carries the course's
    instructor and the caller's enrollment, from which the readers' rule is checked before anything
    is returned. An empty page (or an unknown course) reads the course apart, to tell 404 from an
    empty list.

    Each item has the post's columns, `user_name`, `author_role`, `my_vote` and `accepted_reply_id`
    (None when the accepted reply is hidden from the caller).
    """
    q = (q or "").strip()
    with read_connection() as connection:
        stmt = _posts_page_stmt(
            admin=role == "admin",
            by_module=module_id is not None,
            search=bool(q),
            sort=sort,
            postgres=is_postgres(),
        )
        params = {
            "course_id": course_id,
            "user_id": user_id,
            "module_id": module_id,
            "q": q,
            "q_like": contains_pattern(q.lower()),
        }
        result = paginate_counted(stmt, page=page, per_page=per_page, params=params, connection=connection)
        first = result.items[0] if result.items else None
        if first is not None and first.course_instructor_id is not None:
            instructor_id = first.course_instructor_id
            if not may_read(instructor_id, first.caller_enrolled, user_id, role):
                raise not_found("Course", course_id)
        else:  # no posts, or posts left behind by a deleted course (SQLite keeps no foreign keys)
            instructor_id = forum_instructor(connection, course_id, user_id, role)
        # Posts may outlive a deleted module on SQLite: the module itself is checked.
        _check_module(course_id, module_id, connection.execute)
    result.items = [
        {**row._mapping, "author_role": shown_role(row.user_id, row.user_role, instructor_id)}
        for row in result.items
    ]
    return result


@built_once
def _posts_page_stmt(*, admin: bool, by_module: bool, search: bool, sort: str, postgres: bool):
    """The page query of one shape of list (values are bound parameters): building it cost more than
    running it, so each shape is built once."""
    accepted = aliased(Reply)
    accepted_id = (
        Post.accepted_reply_id if admin else case((accepted.hidden, None), else_=Post.accepted_reply_id)
    )
    stmt = (
        select(
            Post.id,
            Post.course_id,
            Post.module_id,
            Post.user_id,
            User.name.label("user_name"),
            User.role.label("user_role"),
            Post.title,
            Post.body,
            Post.votes,
            Post.reply_count,
            accepted_id.label("accepted_reply_id"),
            func.coalesce(Vote.value, 0).label("my_vote"),
            Post.hidden,
            Post.created_at,
            Post.edited_at,
            # The readers' rule rides along (evaluated once: the subqueries are uncorrelated).
            select(Course.instructor_id)
            .where(Course.id == bindparam("course_id"))
            .scalar_subquery()
            .label("course_instructor_id"),
            enrolled_clause(bindparam("user_id"), bindparam("course_id")).label("caller_enrolled"),
        )
        .join(User, User.id == Post.user_id)
        .outerjoin(Vote, (Vote.post_id == Post.id) & (Vote.user_id == bindparam("user_id")))
        .outerjoin(accepted, accepted.id == Post.accepted_reply_id)
        .where(Post.course_id == bindparam("course_id"))
    )
    if not admin:
        stmt = stmt.where(Post.hidden.is_(False))
    if by_module:
        stmt = stmt.where(Post.module_id == bindparam("module_id"))
    if search and postgres:
        stmt = stmt.where(
            _SEARCH_VECTOR.bool_op("@@")(
                func.websearch_to_tsquery(literal_column("'english'"), bindparam("q"))
            )
        )
    elif search:
        pattern = bindparam("q_like")  # the embedded default (SQLite): a case-blind substring
        stmt = stmt.where(
            func.lower(Post.title).like(pattern, escape=LIKE_ESCAPE)
            | func.lower(Post.body).like(pattern, escape=LIKE_ESCAPE)
        )
    if sort == "unanswered":
        stmt = stmt.where(Post.reply_count == 0)
    order = (Post.votes.desc(),) if sort == "top" else ()
    return stmt.order_by(*order, Post.created_at.desc(), Post.id.desc())


def get_post(*, post_id: int, user_id: int, role: str | None) -> PostView:
    """One post the caller may read."""
    post, course = visible_post(post_id, user_id, role)
    return _post_view(post, course, user_id, role)


def create_post(
    *, course_id: int, user_id: int, role: str | None, title, body, module_id: int | None = None
) -> PostView:
    """Ask a question in a course (optionally about one of its modules); awards forum_post XP."""
    course = forum_course(course_id, user_id, role)
    require_writer(course, user_id, role)
    post = Post(
        course_id=course.id,
        user_id=user_id,
        module_id=_check_module(course.id, module_id),
        title=clean_text("title", title, min_length=TITLE_MIN, max_length=TITLE_MAX),
        body=clean_text("body", body, min_length=BODY_MIN, max_length=BODY_MAX),
    )
    db.session.add(post)
    db.session.flush()
    xp = award_xp(
        user_id=user_id, type="forum_post", source_id=post.id, course_id=course.id, domain=course.domain
    )
    db.session.commit()
    return PostView(post, author_role(course, post.user), xp_awarded=xp)


def update_post(*, post_id: int, user_id: int, role: str | None, **changes) -> PostView:
    """The author edits title, body or module; stamps edited_at."""
    post, course = visible_post(post_id, user_id, role)
    if post.user_id != user_id:
        raise Forbidden("Only the author may edit a post")
    if "title" in changes:
        post.title = clean_text("title", changes["title"], min_length=TITLE_MIN, max_length=TITLE_MAX)
    if "body" in changes:
        post.body = clean_text("body", changes["body"], min_length=BODY_MIN, max_length=BODY_MAX)
    if "module_id" in changes:
        post.module_id = _check_module(course.id, changes["module_id"])
    post.edited_at = utcnow()
    db.session.commit()
    return _post_view(post, course, user_id, role)


def _may_delete(course: Course, author_id: int, user_id: int, role: str | None) -> bool:
    return author_id == user_id or is_instructor(course, user_id) or role == "admin"


def delete_post(*, post_id: int, user_id: int, role: str | None) -> None:
    """The author, the course's instructor or an admin deletes a post with its replies, votes and
    flags; the author's forum_post XP for it is taken back."""
    post, course = visible_post(post_id, user_id, role)
    if not _may_delete(course, post.user_id, user_id, role):
        raise Forbidden("Only the author, the course's instructor or an admin may delete a post")
    revoke_xp(user_id=post.user_id, type="forum_post", source_id=post.id)
    if post.user_id != user_id:
        audit.record(
            actor_id=user_id,
            action="forum.post.delete",
            object_type="post",
            object_id=post.id,
            detail={"course_id": course.id, "author_id": post.user_id, "title": post.title},
        )
    # Explicit rather than by ON DELETE CASCADE alone: SQLite (the embedded default) does not
    # enforce foreign keys.
    reply_ids = select(Reply.id).where(Reply.post_id == post.id)
    db.session.execute(delete(Flag).where(or_(Flag.post_id == post.id, Flag.reply_id.in_(reply_ids))))
    db.session.execute(delete(Vote).where(or_(Vote.post_id == post.id, Vote.reply_id.in_(reply_ids))))
    db.session.execute(update(Post).where(Post.id == post.id).values(accepted_reply_id=None))
    db.session.execute(delete(Reply).where(Reply.post_id == post.id))
    db.session.execute(delete(Post).where(Post.id == post.id))
    db.session.commit()


def accept_reply(*, post_id: int, user_id: int, role: str | None, reply_id: int | None) -> PostView:
    """The post's author or the course's instructor marks the accepted answer (None un-accepts)."""
    post, course = visible_post(post_id, user_id, role, lock=True)
    if not (post.user_id == user_id or is_instructor(course, user_id) or role == "admin"):
        raise Forbidden("Only the post's author or the course's instructor may accept an answer")
    if reply_id is not None:
        reply = db.session.get(Reply, reply_id)
        if reply is None or reply.post_id != post.id or (reply.hidden and role != "admin"):
            raise invalid("reply_id", f"Reply {reply_id} is not a reply to post {post.id}.")
    post.accepted_reply_id = reply_id
    db.session.commit()
    return _post_view(post, course, user_id, role)


# ---- replies --------------------------------------------------------------------------------


def list_replies(*, post_id: int, user_id: int, role: str | None, page: int = 1, per_page: int = 20) -> Page:
    """A post's replies (items are ReplyView): the accepted answer first, then by votes, then oldest."""
    post, course = visible_post(post_id, user_id, role)
    stmt = (
        select(Reply, func.coalesce(Vote.value, 0).label("my_vote"))
        .outerjoin(Vote, (Vote.reply_id == Reply.id) & (Vote.user_id == user_id))
        .where(Reply.post_id == post.id)
    )
    if role != "admin":
        stmt = stmt.where(Reply.hidden.is_(False))
    accepted_first = case((Reply.id == post.accepted_reply_id, 0), else_=1)
    stmt = stmt.order_by(accepted_first, Reply.votes.desc(), Reply.created_at, Reply.id)
    result = paginate(stmt, page=page, per_page=per_page, scalars=False)
    result.items = [
        ReplyView(reply, author_role(course, reply.user), my_vote, reply.id == post.accepted_reply_id)
        for reply, my_vote in result.items
    ]
    return result


def create_reply(*, post_id: int, user_id: int, role: str | None, body) -> ReplyView:
    """Answer a post (enrolled students and the course's instructor)."""
    post, course = visible_post(post_id, user_id, role)
    require_writer(course, user_id, role)
    reply = Reply(
        post_id=post.id,
        user_id=user_id,
        body=clean_text("body", body, min_length=BODY_MIN, max_length=BODY_MAX),
    )
    db.session.add(reply)
    db.session.execute(update(Post).where(Post.id == post.id).values(reply_count=Post.reply_count + 1))
    db.session.commit()
    return ReplyView(reply, author_role(course, reply.user))


def update_reply(*, reply_id: int, user_id: int, role: str | None, body) -> ReplyView:
    """The author edits a reply's body; stamps edited_at."""
    reply, post, course = visible_reply(reply_id, user_id, role)
    if reply.user_id != user_id:
        raise Forbidden("Only the author may edit a reply")
    reply.body = clean_text("body", body, min_length=BODY_MIN, max_length=BODY_MAX)
    reply.edited_at = utcnow()
    db.session.commit()
    return ReplyView(
        reply,
        author_role(course, reply.user),
        _my_vote(user_id, reply_id=reply.id),
        reply.id == post.accepted_reply_id,
    )


def delete_reply(*, reply_id: int, user_id: int, role: str | None) -> None:
    """The author, the course's instructor or an admin deletes a reply with its votes and flags."""
    reply, post, course = visible_reply(reply_id, user_id, role)
    if not _may_delete(course, reply.user_id, user_id, role):
        raise Forbidden("Only the author, the course's instructor or an admin may delete a reply")
    if reply.user_id != user_id:
        audit.record(
            actor_id=user_id,
            action="forum.reply.delete",
            object_type="reply",
            object_id=reply.id,
            detail={"course_id": course.id, "post_id": post.id, "author_id": reply.user_id},
        )
    values = {}
    if post.accepted_reply_id == reply.id:
        values["accepted_reply_id"] = None
    if not reply.hidden:
        values["reply_count"] = Post.reply_count - 1
    if values:
        db.session.execute(update(Post).where(Post.id == post.id).values(**values))
    db.session.execute(delete(Flag).where(Flag.reply_id == reply.id))
    db.session.execute(delete(Vote).where(Vote.reply_id == reply.id))
    db.session.execute(delete(Reply).where(Reply.id == reply.id))
    db.session.commit()
