"""Posts: a course's question list, asking, reading, editing, deleting, voting, accepting, flagging."""

from __future__ import annotations

from common.forum import moderation, service, votes
from web.auth import auth_required, current_role, current_user_id
from web.pagination import page_json
from web.resources.forum.blueprint import blp, post_body, post_item_body, write_limit
from web.resources.forum.schemas import (
    AcceptSchema,
    FlagCreateSchema,
    FlagSchema,
    PostCreatedSchema,
    PostCreateSchema,
    PostListArgs,
    PostPageSchema,
    PostSchema,
    PostUpdateSchema,
    VoteResultSchema,
    VoteSchema,
)

_HIDDEN_404 = "Unknown post, a course whose forum you may not read, or hidden content"


def _who() -> dict:
    return {"user_id": current_user_id(), "role": current_role()}


@blp.route("/courses/<int:course_id>/posts", methods=["GET"])
@auth_required()
@blp.arguments(PostListArgs, location="query")
@blp.response(200, PostPageSchema)
@blp.alt_response(404, description="Unknown course, or one whose forum you may not read")
@blp.alt_response(422, description="Bad query, or module_id not a module of this course")
def list_posts(args, course_id):
    """A course's posts: filter by module, sort newest/top/unanswered, full-text q."""
    page = service.list_posts(course_id=course_id, **_who(), **args)
    return page_json(page, [post_item_body(item) for item in page.items])


@blp.route("/courses/<int:course_id>/posts", methods=["POST"])
@auth_required()
@write_limit()
@blp.arguments(PostCreateSchema)
@blp.response(201, PostCreatedSchema)
@blp.alt_response(403, description="Not an enrolled student or the course's instructor")
@blp.alt_response(404, description="Unknown course, or one whose forum you may not read")
@blp.alt_response(422, description="Bad title/body, or module_id not a module of this course")
@blp.alt_response(429, description="Too many new posts (RATELIMIT_FORUM_POST, per user)")
def create_post(data, course_id):
    """Ask a question in a course's forum (awards forum_post XP)."""
    return post_body(service.create_post(course_id=course_id, **_who(), **data))


@blp.route("/posts/<int:post_id>", methods=["GET"])
@auth_required()
@blp.response(200, PostSchema)
@blp.alt_response(404, description=_HIDDEN_404)
def get_post(post_id):
    """One post."""
    return post_body(service.get_post(post_id=post_id, **_who()))


@blp.route("/posts/<int:post_id>", methods=["PATCH"])
@auth_required()
@blp.arguments(PostUpdateSchema)
@blp.response(200, PostSchema)
@blp.alt_response(403, description="Not the author")
@blp.alt_response(404, description=_HIDDEN_404)
def update_post(data, post_id):
    """Edit your post (stamps edited_at)."""
    return post_body(service.update_post(post_id=post_id, **_who(), **data))


@blp.route("/posts/<int:post_id>", methods=["DELETE"])
@auth_required()
@blp.response(204)
@blp.alt_response(403, description="Not the author, the course's instructor or an admin")
@blp.alt_response(404, description=_HIDDEN_404)
def delete_post(post_id):
    """Delete a post with its replies, votes and flags (its XP is taken back)."""
    service.delete_post(post_id=post_id, **_who())


@blp.route("/posts/<int:post_id>/vote", methods=["POST"])
@auth_required()
@blp.arguments(VoteSchema)
@blp.response(200, VoteResultSchema)
@blp.alt_response(403, description="Not an enrolled student or the course's instructor")
@blp.alt_response(404, description=_HIDDEN_404)
@blp.alt_response(409, description="Your own post")
def vote_post(data, post_id):
    """Vote a post up (1), down (-1), or withdraw your vote (0)."""
    result = votes.vote_post(post_id=post_id, **_who(), **data)
    return {"votes": result.votes, "my_vote": result.my_vote}


@blp.route("/posts/<int:post_id>/accept", methods=["POST"])
@auth_required()
@blp.arguments(AcceptSchema)
@blp.response(200, PostSchema)
@blp.alt_response(403, description="Not the post's author or the course's instructor")
@blp.alt_response(404, description=_HIDDEN_404)
@blp.alt_response(422, description="reply_id is not a reply to this post")
def accept_reply(data, post_id):
    """Mark the accepted answer of a post (reply_id null un-accepts)."""
    return post_body(service.accept_reply(post_id=post_id, **_who(), **data))


@blp.route("/posts/<int:post_id>/flag", methods=["POST"])
@auth_required()
@blp.arguments(FlagCreateSchema)
@blp.response(201, FlagSchema)
@blp.alt_response(403, description="Not an enrolled student")
@blp.alt_response(404, description=_HIDDEN_404)
@blp.alt_response(409, description="Already flagged by you, or your own post")
def flag_post(data, post_id):
    """Flag a post for moderators (once per user); enough flags hide it pending review."""
    return moderation.flag_post(post_id=post_id, **_who(), **data)
