"""`flask seed` gives forum posts, replies, votes and accepted answers in several courses, consistently."""

from __future__ import annotations

from sqlalchemy import func, select

from common.accounts.models import User
from common.db import db
from common.forum.models import Post, Reply, Vote
from common.gamification.models import XpEvent
from common.learning.models import Enrollment
from common.seed import seed_demo_data
from tests.factories import auth_headers


def test_seed_forum_is_consistent_and_readable(client):
    counts = seed_demo_data()["counts"]
    assert counts["forum_posts"] >= 10 and counts["forum_replies"] > counts["forum_posts"]
    assert counts["forum_votes"] > 0 and counts["forum_accepted"] >= 3
    assert db.session.scalar(select(func.count(func.distinct(Post.course_id)))) >= 3
    for post in db.session.execute(select(Post)).scalars():
        assert post.votes == db.session.scalar(
            select(func.coalesce(func.sum(Vote.value), 0)).where(Vote.post_id == post.id)
        )
        assert post.reply_count == db.session.scalar(select(func.count()).where(Reply.post_id == post.id))
        if post.accepted_reply_id:
            assert db.session.get(Reply, post.accepted_reply_id).post_id == post.id
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(XpEvent)
                .where(XpEvent.type == "forum_post", XpEvent.source_id == post.id)
            )
            == 1
        )
    for reply in db.session.execute(select(Reply)).scalars():
        assert reply.votes == db.session.scalar(
            select(func.coalesce(func.sum(Vote.value), 0)).where(Vote.reply_id == reply.id)
        )
    post = db.session.execute(select(Post).where(Post.accepted_reply_id.is_not(None))).scalars().first()
    reader = (
        db.session.execute(select(Enrollment).where(Enrollment.course_id == post.course_id)).scalars().first()
    )
    listed = client.get(
        f"/api/courses/{post.course_id}/posts", headers=auth_headers(db.session.get(User, reader.user_id))
    ).get_json()
    assert listed["total"] >= 1 and any(i["accepted_reply_id"] for i in listed["items"])
