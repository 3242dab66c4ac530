"""The forum blueprint, its per-user write limit and the shaping of posts and replies for the API."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from common.forum.service import PostView, ReplyView
from web.auth import current_user_id
from web.extensions import limiter
from web.fields import timestamp

blp = Blueprint("forum", __name__, url_prefix="/api", description="Q&A forum per course and module")


def _forum_post_limit() -> str:
    return current_app.config["RATELIMIT_FORUM_POST"]


def _per_user() -> str:
    # Applied under auth_required, so the token has been verified.
    return f"user:{current_user_id()}"


def write_limit():
    """RATELIMIT_FORUM_POST per user, counted per route (new posts, new replies)."""
    return limiter.limit(_forum_post_limit, key_func=_per_user)


def _author(user, role: str) -> dict:
    return {"id": user.id, "name": user.name, "role": role}


def post_body(view: PostView) -> dict:
    post = view.post
    author = _author(post.user, view.author_role)
    body = {
        "id": post.id,
        "course_id": post.course_id,
        "module_id": post.module_id,
        "user": author,
        "author": author,
        "title": post.title,
        "body": post.body,
        "votes": post.votes,
        "reply_count": post.reply_count,
        "accepted_reply_id": view.accepted_reply_id,
        "my_vote": view.my_vote,
        "hidden": post.hidden,
        "created_at": post.created_at,
        "edited_at": post.edited_at,
    }
    if view.xp_awarded is not None:
        body["xp_awarded"] = view.xp_awarded
    return body


def post_row_body(row) -> dict:
    """A post of the list (a plain row of forum.service.list_posts) as the API's JSON: PostSchema's
    fields and formats, built by hand because dumping 20 nested posts through marshmallow cost more
    than the list's queries."""
    author = {"id": row.user_id, "name": row.user_name, "role": row.author_role}
    return {
        "id": row.id,
        "course_id": row.course_id,
        "module_id": row.module_id,
        "user": author,
        "author": author,
        "title": row.title,
        "body": row.body,
        "votes": row.votes,
        "reply_count": row.reply_count,
        "accepted_reply_id": row.accepted_reply_id,
        "my_vote": row.my_vote,
        "hidden": row.hidden,
        "created_at": timestamp(row.created_at),
        "edited_at": timestamp(row.edited_at),
    }


def reply_body(view: ReplyView) -> dict:
    reply = view.reply
    author = _author(reply.user, view.author_role)
    return {
        "id": reply.id,
        "post_id": reply.post_id,
        "user": author,
        "author": author,
        "body": reply.body,
        "votes": reply.votes,
        "is_accepted": view.is_accepted,
        "my_vote": view.my_vote,
        "hidden": reply.hidden,
        "created_at": reply.created_at,
        "edited_at": reply.edited_at,
    }
