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


def _post_fields(post: dict, author: dict) -> dict:
    """PostSchema's fields in its order, from a mapping of the post's values."""
    return {
        "id": post["id"],
        "course_id": post["course_id"],
        "module_id": post["module_id"],
        "user": author,
        "author": author,
        "title": post["title"],
        "body": post["body"],
        "votes": post["votes"],
        "reply_count": post["reply_count"],
        "accepted_reply_id": post["accepted_reply_id"],
        "my_vote": post["my_vote"],
        "hidden": post["hidden"],
        "created_at": post["created_at"],
        "edited_at": post["edited_at"],
    }


_POST_COLUMNS = (
    "id",
    "course_id",
    "module_id",
    "title",
    "body",
    "votes",
    "reply_count",
    "hidden",
    "created_at",
    "edited_at",
)


def post_body(view: PostView) -> dict:
    post = view.post
    values = {name: getattr(post, name) for name in _POST_COLUMNS}
    body = _post_fields(
        {**values, "accepted_reply_id": view.accepted_reply_id, "my_vote": view.my_vote},
        _author(post.user, view.author_role),
    )
    if view.xp_awarded is not None:
        body["xp_awarded"] = view.xp_awarded
    return body


def post_item_body(item: dict) -> dict:
    """A post of the list (an item of forum.service.list_posts) as the API's JSON, timestamps
    formatted here: the list skips marshmallow, whose dumps of 20 nested posts cost more than its
    queries (PostSchema still documents it)."""
    body = _post_fields(item, {"id": item["user_id"], "name": item["user_name"], "role": item["author_role"]})
    body["created_at"], body["edited_at"] = timestamp(item["created_at"]), timestamp(item["edited_at"])
    return body


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
