"""Replies and accepted answers: who answers, edits, deletes and accepts; ordering; the instructor's role."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from common.admin.models import AuditLog
from common.db import db
from common.forum.models import Flag, Post, Reply, Vote
from tests.web.forum_world import OUTSIDERS, count, make_post, make_reply, world  # noqa: F401


def _reply(client, world, post, who="reader", body="Use a LEFT JOIN."):
    return client.post(f"/api/posts/{post.id}/replies", json={"body": body}, headers=world.h(who))


def _replies(client, world, post, who="reader", **args):
    resp = client.get(f"/api/posts/{post.id}/replies", query_string=args, headers=world.h(who))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.mark.parametrize(
    "who,role", [("reader", "student"), ("author", "student"), ("instructor", "instructor")]
)
def test_writers_reply(client, world, who, role):
    post = make_post(world)
    resp = _reply(client, world, post, who=who, body="  **Markdown** <script>kept as text</script>  ")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["body"] == "**Markdown** <script>kept as text</script>"
    assert body["author"]["role"] == role and body["user"]["id"] == getattr(world, who).id
    assert (body["post_id"], body["votes"], body["is_accepted"], body["my_vote"]) == (post.id, 0, False, 0)
    db.session.expire_all()
    assert post.reply_count == 1 and count(Reply, Reply.post_id == post.id) == 1


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_replies(client, world, who):
    post = make_post(world)
    reply = make_reply(post, world.reader)
    assert _reply(client, world, post, who=who).status_code == 404
    assert client.get(f"/api/posts/{post.id}/replies", headers=world.h(who)).status_code == 404
    assert (
        client.patch(f"/api/replies/{reply.id}", json={"body": "x"}, headers=world.h(who)).status_code == 404
    )
    assert client.delete(f"/api/replies/{reply.id}", headers=world.h(who)).status_code == 404
    assert (
        client.post(
            f"/api/posts/{post.id}/accept", json={"reply_id": reply.id}, headers=world.h(who)
        ).status_code
        == 404
    )
    assert count(Reply) == 1


def test_anonymous_401_admin_403_bad_body_422(client, world):
    post = make_post(world)
    assert _reply(client, world, post, who=None).status_code == 401
    assert _reply(client, world, post, who="admin").status_code == 403
    for bad in ("", "   ", "x" * 20_001, "nul\x00byte", None):
        resp = client.post(f"/api/posts/{post.id}/replies", json={"body": bad}, headers=world.h("reader"))
        assert resp.status_code == 422 and "body" in resp.get_json()["errors"]["json"]
    assert count(Reply) == 0
    assert client.get("/api/posts/424242/replies", headers=world.h("reader")).status_code == 404


def test_order_accepted_first_then_votes_then_oldest(client, world):
    post = make_post(world)
    first = make_reply(post, world.reader, body="first", votes=1)
    top = make_reply(post, world.author, body="top", votes=7)
    accepted = make_reply(post, world.instructor, body="accepted", votes=-2)
    also_one = make_reply(post, world.reader, body="also one", votes=1)
    post.accepted_reply_id = accepted.id
    db.session.add(Vote(reply_id=top.id, user_id=world.reader.id, value=1))
    db.session.commit()
    body = _replies(client, world, post)
    assert [i["id"] for i in body["items"]] == [accepted.id, top.id, first.id, also_one.id]
    assert [i["is_accepted"] for i in body["items"]] == [True, False, False, False]
    assert body["items"][0]["author"]["role"] == "instructor"
    assert body["items"][1]["my_vote"] == 1
    page = _replies(client, world, post, per_page=3, page=2)
    assert ([i["id"] for i in page["items"]], page["total"]) == ([also_one.id], 4)


def test_reply_list_query_count_is_fixed(client, world):
    post = make_post(world)
    for n in range(10):
        make_reply(post, world.author if n % 2 else world.instructor, body=f"reply {n}")
    url, headers = f"/api/posts/{post.id}/replies", world.h("reader")
    client.get(url, headers=headers)

    def queries(per_page):
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        db.session.expunge_all()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert (
                len(client.get(f"{url}?per_page={per_page}", headers=headers).get_json()["items"]) == per_page
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    # post, course, enrollment check, count, page (authors and my_vote joined)
    assert queries(2) == queries(10) == 5


def test_author_edits_reply(client, world):
    post = make_post(world)
    reply = make_reply(post, world.reader)
    assert (
        client.patch(
            f"/api/replies/{reply.id}", json={"body": "Hijack"}, headers=world.h("author")
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/replies/{reply.id}", json={"body": "Hijack"}, headers=world.h("admin")
        ).status_code
        == 403
    )
    resp = client.patch(
        f"/api/replies/{reply.id}", json={"body": "Better: a LEFT JOIN."}, headers=world.h("reader")
    )
    assert resp.status_code == 200 and resp.get_json()["edited_at"].endswith("Z")
    db.session.expire_all()
    assert reply.body == "Better: a LEFT JOIN." and reply.edited_at is not None
    assert (
        client.patch(f"/api/replies/{reply.id}", json={"body": " "}, headers=world.h("reader")).status_code
        == 422
    )
    assert (
        client.patch("/api/replies/999999", json={"body": "x"}, headers=world.h("reader")).status_code == 404
    )


@pytest.mark.parametrize("who", ["reader", "instructor", "admin"])
def test_delete_reply_keeps_counts_right(client, world, who):
    post = make_post(world)
    reply = make_reply(post, world.reader)
    post.accepted_reply_id = reply.id
    db.session.add_all(
        [
            Vote(reply_id=reply.id, user_id=world.author.id, value=1),
            Flag(reply_id=reply.id, user_id=world.author.id, reason="other", note="rude"),
        ]
    )
    db.session.commit()
    assert client.delete(f"/api/replies/{reply.id}", headers=world.h("author")).status_code == 403
    assert client.delete(f"/api/replies/{reply.id}", headers=world.h(who)).status_code == 204
    db.session.expire_all()
    assert (post.reply_count, post.accepted_reply_id) == (0, None)
    assert [count(m) for m in (Reply, Vote, Flag)] == [0, 0, 0]
    assert count(AuditLog, AuditLog.action == "forum.reply.delete") == (0 if who == "reader" else 1)


# ---- accepted answer ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "instructor", "admin"])
def test_accept_and_unaccept(client, world, who):
    post = make_post(world)
    reply = make_reply(post, world.reader)
    resp = client.post(f"/api/posts/{post.id}/accept", json={"reply_id": reply.id}, headers=world.h(who))
    assert resp.status_code == 200 and resp.get_json()["accepted_reply_id"] == reply.id
    db.session.expire_all()
    assert post.accepted_reply_id == reply.id
    assert _replies(client, world, post)["items"][0]["is_accepted"] is True
    resp = client.post(f"/api/posts/{post.id}/accept", json={"reply_id": None}, headers=world.h(who))
    assert resp.status_code == 200 and resp.get_json()["accepted_reply_id"] is None
    db.session.expire_all()
    assert post.accepted_reply_id is None


def test_accept_refusals(client, world):
    post = make_post(world)
    reply = make_reply(post, world.reader)
    other_post = make_post(world, user=world.reader, title="Another question")
    foreign = make_reply(other_post, world.author)
    url = f"/api/posts/{post.id}/accept"
    assert client.post(url, json={"reply_id": reply.id}, headers=world.h("reader")).status_code == 403
    assert client.post(url, json={"reply_id": reply.id}).status_code == 401
    for bad in ({"reply_id": foreign.id}, {"reply_id": 999999}, {}, {"reply_id": "one"}, {"reply_id": 0}):
        resp = client.post(url, json=bad, headers=world.h("author"))
        assert resp.status_code == 422, bad
    db.session.expire_all()
    assert db.session.get(Post, post.id).accepted_reply_id is None
