"""Replies: a post's answers (accepted first, then by votes); answering, editing, deleting, voting, flags."""

from __future__ import annotations

from common.forum import moderation, service, votes
from web.auth import auth_required, current_role, current_user_id
from web.pagination import PaginationArgs, page_response
from web.resources.forum.blueprint import blp, reply_body, write_limit
from web.resources.forum.schemas import (
    FlagCreateSchema,
    FlagSchema,
    ReplyBodySchema,
    ReplyPageSchema,
    ReplySchema,
    VoteResultSchema,
    VoteSchema,
)

_HIDDEN_404 = "Unknown reply, a course whose forum you may not read, or hidden content"


def _who() -> dict:
    return {"user_id": current_user_id(), "role": current_role()}


@blp.route("/posts/<int:post_id>/replies", methods=["GET"])
@auth_required()
@blp.arguments(PaginationArgs, location="query")
@blp.response(200, ReplyPageSchema)
@blp.alt_response(404, description="Unknown post, a course whose forum you may not read, or hidden content")
def list_replies(args, post_id):
    """A post's replies: the accepted answer first, then by votes, then oldest first."""
    page = service.list_replies(post_id=post_id, **_who(), **args)
    return page_response(page, [reply_body(view) for view in page.items])


@blp.route("/posts/<int:post_id>/replies", methods=["POST"])
@auth_required()
@write_limit()
@blp.arguments(ReplyBodySchema)
@blp.response(201, ReplySchema)
@blp.alt_response(403, description="Not an enrolled student or the course's instructor")
@blp.alt_response(404, description="Unknown post, a course whose forum you may not read, or hidden content")
@blp.alt_response(429, description="Too many new replies (RATELIMIT_FORUM_POST, per user)")
def create_reply(data, post_id):
    """Answer a post."""
    return reply_body(service.create_reply(post_id=post_id, **_who(), **data))


@blp.route("/replies/<int:reply_id>", methods=["PATCH"])
@auth_required()
@blp.arguments(ReplyBodySchema)
@blp.response(200, ReplySchema)
@blp.alt_response(403, description="Not the author")
@blp.alt_response(404, description=_HIDDEN_404)
def update_reply(data, reply_id):
    """Edit your reply (stamps edited_at)."""
    return reply_body(service.update_reply(reply_id=reply_id, **_who(), **data))


@blp.route("/replies/<int:reply_id>", methods=["DELETE"])
@auth_required()
@blp.response(204)
@blp.alt_response(403, description="Not the author, the course's instructor or an admin")
@blp.alt_response(404, description=_HIDDEN_404)
def delete_reply(reply_id):
    """Delete a reply with its votes and flags."""
    service.delete_reply(reply_id=reply_id, **_who())


@blp.route("/replies/<int:reply_id>/vote", methods=["POST"])
@auth_required()
@blp.arguments(VoteSchema)
@blp.response(200, VoteResultSchema)
@blp.alt_response(403, description="Not an enrolled student or the course's instructor")
@blp.alt_response(404, description=_HIDDEN_404)
@blp.alt_response(409, description="Your own reply")
def vote_reply(data, reply_id):
    """Vote a reply up (1), down (-1), or withdraw your vote (0)."""
    result = votes.vote_reply(reply_id=reply_id, **_who(), **data)
    return {"votes": result.votes, "my_vote": result.my_vote}


@blp.route("/replies/<int:reply_id>/flag", methods=["POST"])
@auth_required()
@blp.arguments(FlagCreateSchema)
@blp.response(201, FlagSchema)
@blp.alt_response(403, description="Not an enrolled student")
@blp.alt_response(404, description=_HIDDEN_404)
@blp.alt_response(409, description="Already flagged by you, or your own reply")
def flag_reply(data, reply_id):
    """Flag a reply for moderators (once per user); enough flags hide it pending review."""
    return moderation.flag_reply(reply_id=reply_id, **_who(), **data)
