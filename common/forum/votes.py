"""Votes on posts and replies: one per user per item, 0 withdraws; the item's counter stays exact.

Every change of an item's votes runs with the item's row locked (SELECT ... FOR UPDATE), so the
read of the caller's previous vote, the vote row change and the counter update by the delta are
serialised per item: `votes` equals the sum of the item's vote rows at every commit, whatever
the concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from common.db import db
from common.errors import Conflict, ValidationError
from common.forum.access import require_writer, visible_post, visible_reply
from common.forum.models import Post, Reply, Vote
from common.gamification.service import grant_badge, register_counter

VALUES = (-1, 0, 1)
# An answer whose score reaches this earns its author the `helpful-answer` badge.
HELPFUL_ANSWER_SCORE = 10


def best_reply_score(user_id: int) -> int:
    """The best score among the user's visible replies: their progress towards `helpful-answer`."""
    return db.session.execute(
        select(func.coalesce(func.max(Reply.votes), 0)).where(
            Reply.user_id == user_id, Reply.hidden.is_(False)
        )
    ).scalar_one()


register_counter("reply_upvotes", best_reply_score)


@dataclass
class VoteResult:
    votes: int
    my_vote: int


def _apply(model, field: str, item_id: int, user_id: int, value: int) -> int:
    """Change the caller's vote on a locked item; returns the item's new total."""
    target = getattr(Vote, field) == item_id
    previous = db.session.execute(select(Vote.value).where(target, Vote.user_id == user_id)).scalar() or 0
    if value == previous:
        return db.session.execute(select(model.votes).where(model.id == item_id)).scalar_one()
    if previous == 0:
        db.session.add(Vote(user_id=user_id, value=value, **{field: item_id}))
    elif value == 0:
        db.session.execute(delete(Vote).where(target, Vote.user_id == user_id))
    else:
        db.session.execute(update(Vote).where(target, Vote.user_id == user_id).values(value=value))
    db.session.flush()
    return db.session.execute(
        update(model)
        .where(model.id == item_id)
        .values(votes=model.votes + (value - previous))
        .returning(model.votes)
    ).scalar_one()


def _check(value, owner_id: int, user_id: int, kind: str) -> None:
    if isinstance(value, bool) or value not in VALUES:
        raise ValidationError("Validation failed", errors={"json": {"value": ["Must be 1, -1 or 0."]}})
    if owner_id == user_id:
        raise Conflict(f"You cannot vote on your own {kind}")


def vote_post(*, post_id: int, user_id: int, role: str | None, value: int) -> VoteResult:
    """Vote a post up (1) or down (-1), or withdraw the vote (0)."""
    post, course = visible_post(post_id, user_id, role, lock=True)
    require_writer(course, user_id, role)
    _check(value, post.user_id, user_id, "post")
    votes = _apply(Post, "post_id", post.id, user_id, value)
    db.session.commit()
    return VoteResult(votes=votes, my_vote=value)


def vote_reply(*, reply_id: int, user_id: int, role: str | None, value: int) -> VoteResult:
    """Vote a reply up (1) or down (-1), or withdraw the vote (0); a score of 10 earns a badge."""
    reply, _post, course = visible_reply(reply_id, user_id, role, lock=True)
    require_writer(course, user_id, role)
    _check(value, reply.user_id, user_id, "reply")
    votes = _apply(Reply, "reply_id", reply.id, user_id, value)
    if votes >= HELPFUL_ANSWER_SCORE:
        grant_badge(user_id=reply.user_id, code="helpful-answer")
    db.session.commit()
    return VoteResult(votes=votes, my_vote=value)
