"""Flags: who flags, one per user per item, automatic hiding at the threshold, and hidden really hidden."""

from __future__ import annotations

import pytest

from common.db import db
from common.forum import moderation
from common.forum.models import Flag, Post, Reply
from tests.concurrency import run_together
from tests.factories import auth_headers, enroll, make_user
from tests.web.forum_world import OUTSIDERS, count, make_post, make_reply, world  # noqa: F401


def _flag(client, url, headers, reason="spam", **extra):
    return client.post(url, json={"reason": reason, **extra}, headers=headers)


def _students(world, n):
    users = []
    for _ in range(n):
        user = make_user("student")
        enroll(user, world.course)
        users.append(user)
    return users


@pytest.mark.parametrize("kind", ["posts", "replies"])
def test_enrolled_student_flags_once(client, world, kind):
    post = make_post(world)
    item = post if kind == "posts" else make_reply(post, world.author)
    url = f"/api/{kind}/{item.id}/flag"
    resp = _flag(client, url, world.h("reader"), reason="off_topic", note="  Not about SQL  ")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["reason"], body["note"], body["status"]) == ("off_topic", "Not about SQL", "open")
    assert _flag(client, url, world.h("reader"), reason="abuse").status_code == 409
    flag = db.session.query(Flag).one()
    assert (flag.user_id, flag.reason, flag.post_id if kind == "posts" else flag.reply_id) == (
        world.reader.id,
        "off_topic",
        item.id,
    )


@pytest.mark.parametrize("kind", ["posts", "replies"])
def test_flag_refusals(client, world, kind):
    post = make_post(world)
    item = post if kind == "posts" else make_reply(post, world.reader)
    own = "author" if kind == "posts" else "reader"
    url = f"/api/{kind}/{item.id}/flag"
    assert _flag(client, url, world.h(own)).status_code == 409
    assert _flag(client, url, {}).status_code == 401
    assert _flag(client, url, world.h("instructor")).status_code == 403
    assert _flag(client, url, world.h("admin")).status_code == 403
    for who in OUTSIDERS:
        assert _flag(client, url, world.h(who)).status_code == 404
    other = "reader" if own == "author" else "author"
    for bad in ({"reason": "boring"}, {}, {"reason": "spam", "note": "x" * 501}, {"reason": 3}):
        resp = client.post(url, json=bad, headers=world.h(other))
        assert resp.status_code == 422, bad
    assert _flag(client, f"/api/{kind}/999999/flag", world.h(other)).status_code == 404
    assert count(Flag) == 0


def test_service_checks_reason_and_note(world):
    post = make_post(world)
    for reason, note in (("boring", None), ("spam", "x" * 501), ("spam", 42)):
        with pytest.raises(Exception) as caught:
            moderation.flag_post(
                post_id=post.id, user_id=world.reader.id, role="student", reason=reason, note=note
            )
        assert caught.value.status_code == 422
        db.session.rollback()


def test_three_flags_hide_a_post_from_everyone_but_admins(client, world):
    post = make_post(world)
    keep = make_post(world, title="A visible question")
    reply = make_reply(post, world.reader)
    flaggers = [world.reader, *_students(world, 2)]
    for n, user in enumerate(flaggers):
        assert _flag(client, f"/api/posts/{post.id}/flag", auth_headers(user)).status_code == 201
        db.session.expire_all()
        assert db.session.get(Post, post.id).hidden is (n == 2)
    for who in ("author", "reader", "instructor"):
        h = world.h(who)
        listed = client.get(f"/api/courses/{world.course.id}/posts", headers=h).get_json()
        assert [i["id"] for i in listed["items"]] == [keep.id] and listed["total"] == 1
        assert client.get(f"/api/posts/{post.id}", headers=h).status_code == 404
        assert client.get(f"/api/posts/{post.id}/replies", headers=h).status_code == 404
        assert client.post(f"/api/posts/{post.id}/replies", json={"body": "hi"}, headers=h).status_code == 404
        assert client.patch(f"/api/replies/{reply.id}", json={"body": "x"}, headers=h).status_code == 404
        assert client.post(f"/api/posts/{post.id}/vote", json={"value": 1}, headers=h).status_code == 404
    admin = world.h("admin")
    listed = client.get(f"/api/courses/{world.course.id}/posts", headers=admin).get_json()
    assert {i["id"]: i["hidden"] for i in listed["items"]} == {post.id: True, keep.id: False}
    assert client.get(f"/api/posts/{post.id}", headers=admin).get_json()["hidden"] is True
    assert client.get(f"/api/posts/{post.id}/replies", headers=admin).get_json()["total"] == 1
    assert count(Post) == 2  # still in the database


def test_hidden_reply_leaves_lists_counts_and_accepted(client, world):
    post = make_post(world)
    bad = make_reply(post, world.reader, body="Buy cheap pills")
    good = make_reply(post, world.instructor)
    post.accepted_reply_id = bad.id
    db.session.commit()
    for user in _students(world, 3):
        assert _flag(client, f"/api/replies/{bad.id}/flag", auth_headers(user)).status_code == 201
    db.session.expire_all()
    assert db.session.get(Reply, bad.id).hidden is True
    h = world.h("author")
    replies = client.get(f"/api/posts/{post.id}/replies", headers=h).get_json()
    assert [i["id"] for i in replies["items"]] == [good.id] and replies["total"] == 1
    shown = client.get(f"/api/posts/{post.id}", headers=h).get_json()
    assert (shown["reply_count"], shown["accepted_reply_id"]) == (1, None)
    listed = client.get(f"/api/courses/{world.course.id}/posts", headers=h).get_json()["items"][0]
    assert (listed["reply_count"], listed["accepted_reply_id"]) == (1, None)
    for method, url, body in (
        ("patch", f"/api/replies/{bad.id}", {"body": "x"}),
        ("delete", f"/api/replies/{bad.id}", None),
        ("post", f"/api/replies/{bad.id}/vote", {"value": 1}),
        ("post", f"/api/replies/{bad.id}/flag", {"reason": "spam"}),
    ):
        assert getattr(client, method)(url, json=body, headers=world.h("author")).status_code == 404
    assert (
        client.post(f"/api/posts/{post.id}/accept", json={"reply_id": bad.id}, headers=h).status_code == 422
    )
    admin = client.get(f"/api/posts/{post.id}", headers=world.h("admin")).get_json()
    assert admin["accepted_reply_id"] == bad.id
    assert client.get(f"/api/posts/{post.id}/replies", headers=world.h("admin")).get_json()["total"] == 2


def test_auto_hide_threshold_is_a_setting(app, client, world):
    post = make_post(world)
    app.config["FORUM_AUTO_HIDE_FLAGS"] = 1
    try:
        assert _flag(client, f"/api/posts/{post.id}/flag", world.h("reader")).status_code == 201
    finally:
        app.config["FORUM_AUTO_HIDE_FLAGS"] = 3
    db.session.expire_all()
    assert db.session.get(Post, post.id).hidden is True


def test_three_flags_at_the_same_moment_hide_the_post(app, world):
    post = make_post(world)
    flaggers = [u.id for u in _students(world, 3)]
    run_together(
        app,
        [
            lambda u=u: moderation.flag_post(post_id=post.id, user_id=u, role="student", reason="spam")
            for u in flaggers
        ],
    )
    db.session.expire_all()
    assert db.session.get(Post, post.id).hidden is True
    assert count(Flag, Flag.post_id == post.id, Flag.status == "open") == 3
