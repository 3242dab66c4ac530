"""Votes on posts and replies: arithmetic, one per user, own items, roles, and exact totals under races."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from common.db import db
from common.forum import votes as votes_service
from common.forum.models import Post, Reply, Vote
from common.gamification.badges import counter as badge_counter
from common.gamification.models import Badge, UserBadge
from tests.concurrency import run_together
from tests.factories import enroll, make_user
from tests.web.forum_world import OUTSIDERS, count, make_post, make_reply, world  # noqa: F401


def _vote(client, world, url, value, who="reader"):
    return client.post(url, json={"value": value}, headers=world.h(who))


def _sum(**target) -> int:
    ((column, item_id),) = target.items()
    return db.session.scalar(
        select(func.coalesce(func.sum(Vote.value), 0)).where(getattr(Vote, column) == item_id)
    )


@pytest.mark.parametrize("kind", ["post", "reply"])
def test_vote_change_and_withdraw(client, world, kind):
    post = make_post(world)
    item = post if kind == "post" else make_reply(post, world.author)
    url = f"/api/{'posts' if kind == 'post' else 'replies'}/{item.id}/vote"
    model, column = (Post, "post_id") if kind == "post" else (Reply, "reply_id")
    steps = [
        ("reader", 1, 1),
        ("reader", 1, 1),
        ("instructor", 1, 2),
        ("reader", -1, 0),
        ("reader", 0, 1),
        ("instructor", -1, -1),
        ("instructor", 0, 0),
    ]
    for who, value, total in steps:
        resp = _vote(client, world, url, value, who)
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json() == {"votes": total, "my_vote": value}
        db.session.expire_all()
        assert db.session.get(model, item.id).votes == total == _sum(**{column: item.id})
    assert count(Vote) == 0


@pytest.mark.parametrize("kind", ["posts", "replies"])
def test_vote_refusals(client, world, kind):
    post = make_post(world)
    item = post if kind == "posts" else make_reply(post, world.reader)
    own = "author" if kind == "posts" else "reader"
    url = f"/api/{kind}/{item.id}/vote"
    assert _vote(client, world, url, 1, own).status_code == 409
    assert _vote(client, world, url, 1, None).status_code == 401
    assert _vote(client, world, url, 1, "admin").status_code == 403
    for who in OUTSIDERS:
        assert _vote(client, world, url, 1, who).status_code == 404
    for bad in (2, -2, "1", True, None, 0.5):
        resp = _vote(client, world, url, bad, "instructor")
        assert resp.status_code == 422 and "value" in resp.get_json()["errors"]["json"], bad
    assert _vote(client, world, f"/api/{kind}/999999/vote", 1, "instructor").status_code == 404
    assert count(Vote) == 0


def test_service_refuses_bad_value(world):
    post = make_post(world)
    with pytest.raises(Exception) as caught:
        votes_service.vote_post(post_id=post.id, user_id=world.reader.id, role="student", value=5)
    assert getattr(caught.value, "status_code", None) == 422


@pytest.mark.parametrize("kind", ["post", "reply"])
def test_twenty_voters_changing_their_minds_keep_the_total_exact(app, world, kind):
    post = make_post(world)
    item_id = post.id if kind == "post" else make_reply(post, world.author).id
    voters = []
    for _ in range(20):
        voter = make_user("student")
        enroll(voter, world.course)
        voters.append(voter.id)
    vote = votes_service.vote_post if kind == "post" else votes_service.vote_reply
    key = "post_id" if kind == "post" else "reply_id"
    rng = random.Random(11)
    # Each voter changes their mind several times, in three requests racing each other (double
    # clicks) and against the other voters.
    plans = [(voter, [rng.choice((1, -1, 0)) for _ in range(3)]) for voter in voters for _ in range(3)]

    def voter_changes_mind(voter, values):
        def run():
            return [
                vote(**{key: item_id}, user_id=voter, role="student", value=value).votes for value in values
            ]

        return run

    totals = run_together(app, [voter_changes_mind(voter, values) for voter, values in plans], timeout=60)
    db.session.expire_all()
    model = Post if kind == "post" else Reply
    final = db.session.get(model, item_id).votes
    assert final == _sum(**{key: item_id})
    assert count(Vote, getattr(Vote, key) == item_id) <= 20
    assert all(-20 <= total <= 20 for run in totals for total in run)


def test_ten_upvotes_earn_the_helpful_answer_badge(world):
    helpful = db.session.query(Badge).filter_by(code="helpful-answer").one()
    post = make_post(world)
    reply = make_reply(post, world.reader)
    voters = []
    for _ in range(10):
        voter = make_user("student")
        enroll(voter, world.course)
        voters.append(voter.id)
    for n, voter in enumerate(voters):
        votes_service.vote_reply(reply_id=reply.id, user_id=voter, role="student", value=1)
        held = count(UserBadge, UserBadge.user_id == world.reader.id, UserBadge.badge_id == helpful.id)
        assert held == (1 if n == 9 else 0)
        assert badge_counter(world.reader.id, "reply_upvotes") == n + 1
    votes_service.vote_reply(reply_id=reply.id, user_id=voters[0], role="student", value=0)
    votes_service.vote_reply(reply_id=reply.id, user_id=voters[0], role="student", value=1)
    assert (
        count(UserBadge, UserBadge.user_id == world.reader.id, UserBadge.badge_id == helpful.id) == 1
    )  # once, kept
