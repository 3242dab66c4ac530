"""Forum posts: who reads and writes, validation, module of the course, XP, edit/delete, rate limit."""

from __future__ import annotations

import pytest

from common.accounts.models import User
from common.admin.models import AuditLog
from common.db import db
from common.forum.models import Flag, Post, Reply, Vote
from common.gamification.models import XpEvent
from tests.web.forum_world import OUTSIDERS, count, make_post, make_reply, world  # noqa: F401


def _create(client, world, who="author", **body):
    body.setdefault("title", "Why is my loop slow?")
    body.setdefault("body", "It takes ages on big lists.")
    return client.post(f"/api/courses/{world.course.id}/posts", json=body, headers=world.h(who))


# ---- create ---------------------------------------------------------------------------------


def test_enrolled_student_asks_and_earns_xp(client, world):
    resp = _create(
        client,
        world,
        title="  Why is my loop slow?  ",
        body="  Markdown **as written** <b>x</b>\n ",
        module_id=world.module_id,
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["title"] == "Why is my loop slow?"
    assert body["body"] == "Markdown **as written** <b>x</b>"  # stored and returned as written, trimmed
    assert body["author"] == body["user"] == {"id": world.author.id, "name": "Ann Author", "role": "student"}
    assert (body["votes"], body["reply_count"], body["my_vote"], body["accepted_reply_id"]) == (0, 0, 0, None)
    assert (
        body["module_id"] == world.module_id
        and body["edited_at"] is None
        and body["created_at"].endswith("Z")
    )
    assert body["xp_awarded"] == 5
    post = db.session.get(Post, body["id"])
    assert (post.course_id, post.user_id, post.hidden) == (world.course.id, world.author.id, False)
    event = db.session.query(XpEvent).one()
    assert (event.user_id, event.type, event.source_id, event.points, event.course_id, event.domain) == (
        world.author.id,
        "forum_post",
        post.id,
        5,
        world.course.id,
        "data-science",
    )
    assert db.session.get(User, world.author.id).xp_total == 5


def test_xp_award_return_is_respected(client, world):
    # When award_xp pays nothing (here: an award for this source already exists, as over the daily
    # cap), the answer says 0 and no points are added.
    db.session.add(XpEvent(user_id=world.author.id, type="forum_post", source_id=1, points=5))
    db.session.commit()
    resp = _create(client, world)
    assert resp.status_code == 201 and resp.get_json()["id"] == 1
    assert resp.get_json()["xp_awarded"] == 0
    assert db.session.get(User, world.author.id).xp_total == 0
    assert count(XpEvent) == 1


def test_instructor_posts_with_instructor_role(client, world):
    resp = _create(client, world, who="instructor")
    assert resp.status_code == 201
    assert resp.get_json()["author"]["role"] == "instructor"


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_create(client, world, who):
    assert _create(client, world, who=who).status_code == 404
    assert count(Post) == 0


def test_anonymous_401_admin_403(client, world):
    assert _create(client, world, who=None).status_code == 401
    resp = _create(client, world, who="admin")
    assert resp.status_code == 403 and resp.get_json()["code"] == 403
    assert count(Post) == 0


def test_module_of_another_course_is_422(client, world):
    other_module = world.other_course.modules[0].id
    resp = _create(client, world, module_id=other_module)
    assert resp.status_code == 422
    assert "module_id" in resp.get_json()["errors"]["json"]
    assert _create(client, world, module_id=999999).status_code == 422
    assert count(Post) == 0


@pytest.mark.parametrize(
    "field,value",
    [
        ("title", "abcd"),
        ("title", "   abcd   "),
        ("title", "x" * 201),
        ("body", ""),
        ("body", "   "),
        ("body", "x" * 20_001),
        ("title", "Hello\x00world"),
        ("body", "bell\x07"),
        ("title", 12345),
        ("module_id", "abc"),
        ("module_id", True),
    ],
)
def test_bad_input_is_422_with_field_errors(client, world, field, value):
    resp = _create(client, world, **{field: value})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["code"] == 422 and field in body["errors"]["json"]
    assert count(Post) == 0


def test_length_limits_are_inclusive(client, world):
    resp = _create(client, world, title="x" * 5, body="y")
    assert resp.status_code == 201
    resp = _create(client, world, title="t" * 200, body="line one\n\tline two " + "b" * 19_981)
    assert resp.status_code == 201
    assert len(resp.get_json()["body"]) == 20_000


def test_missing_fields_and_malformed_json(client, world):
    resp = client.post(f"/api/courses/{world.course.id}/posts", json={}, headers=world.h("author"))
    assert resp.status_code == 422 and {"title", "body"} <= set(resp.get_json()["errors"]["json"])
    resp = client.post(
        f"/api/courses/{world.course.id}/posts",
        data="{not json",
        headers={**world.h("author"), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400 and resp.get_json()["code"] == 400


def test_new_posts_are_rate_limited_per_user(app, client, world):
    limit = int(app.config["RATELIMIT_FORUM_POST"].split()[0])
    codes = [_create(client, world).status_code for _ in range(limit)]
    assert codes == [201] * limit
    blocked = _create(client, world)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert blocked.get_json()["code"] == 429
    # Another user (same address) is not affected.
    assert _create(client, world, who="reader").status_code == 201
    assert count(Post) == limit + 1


# ---- read -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "reader", "instructor", "admin"])
def test_readers_get_a_post(client, world, who):
    post = make_post(world)
    resp = client.get(f"/api/posts/{post.id}", headers=world.h(who))
    assert resp.status_code == 200
    assert resp.get_json()["title"] == "How do joins work?"


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_for_post_and_list(client, world, who):
    post = make_post(world)
    assert client.get(f"/api/posts/{post.id}", headers=world.h(who)).status_code == 404
    assert client.get(f"/api/courses/{world.course.id}/posts", headers=world.h(who)).status_code == 404
    assert (
        client.patch(
            f"/api/posts/{post.id}", json={"title": "Changed title"}, headers=world.h(who)
        ).status_code
        == 404
    )
    assert client.delete(f"/api/posts/{post.id}", headers=world.h(who)).status_code == 404
    assert count(Post) == 1


def test_anonymous_is_401_and_unknown_is_404(client, world):
    post = make_post(world)
    assert client.get(f"/api/posts/{post.id}").status_code == 401
    assert client.get(f"/api/courses/{world.course.id}/posts").status_code == 401
    assert client.get("/api/posts/999999", headers=world.h("author")).status_code == 404
    assert client.get("/api/courses/999999/posts", headers=world.h("admin")).status_code == 404


# ---- edit -----------------------------------------------------------------------------------


def test_author_edits_and_edited_at_is_set(client, world):
    post = make_post(world)
    resp = client.patch(
        f"/api/posts/{post.id}",
        json={"title": "How do LEFT joins work?", "body": "Edited.", "module_id": world.module_id},
        headers=world.h("author"),
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["title"] == "How do LEFT joins work?" and body["edited_at"].endswith("Z")
    db.session.expire_all()
    assert (post.title, post.body, post.module_id) == ("How do LEFT joins work?", "Edited.", world.module_id)
    assert post.edited_at is not None


@pytest.mark.parametrize("who", ["reader", "instructor", "admin"])
def test_only_the_author_edits(client, world, who):
    post = make_post(world)
    assert (
        client.patch(f"/api/posts/{post.id}", json={"body": "Hijacked"}, headers=world.h(who)).status_code
        == 403
    )
    db.session.expire_all()
    assert post.body == "I am stuck on lesson 2." and post.edited_at is None


def test_edit_validation(client, world):
    post = make_post(world)
    url = f"/api/posts/{post.id}"
    assert client.patch(url, json={}, headers=world.h("author")).status_code == 422
    assert client.patch(url, json={"title": "abc"}, headers=world.h("author")).status_code == 422
    other_module = world.other_course.modules[0].id
    assert client.patch(url, json={"module_id": other_module}, headers=world.h("author")).status_code == 422
    resp = client.patch(url, json={"module_id": None}, headers=world.h("author"))
    assert resp.status_code == 200 and resp.get_json()["module_id"] is None


# ---- delete ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "instructor", "admin"])
def test_delete_cascades_and_takes_back_xp(client, world, who):
    resp = _create(client, world)
    post = db.session.get(Post, resp.get_json()["id"])
    reply = make_reply(post, world.reader)
    post.accepted_reply_id = reply.id
    db.session.add_all(
        [
            Vote(post_id=post.id, user_id=world.reader.id, value=1),
            Vote(reply_id=reply.id, user_id=world.author.id, value=1),
            Flag(post_id=post.id, user_id=world.reader.id, reason="spam"),
            Flag(reply_id=reply.id, user_id=world.author.id, reason="abuse"),
        ]
    )
    db.session.commit()
    assert db.session.get(User, world.author.id).xp_total == 5
    assert client.delete(f"/api/posts/{post.id}", headers=world.h(who)).status_code == 204
    db.session.expire_all()
    assert [count(m) for m in (Post, Reply, Vote, Flag, XpEvent)] == [0, 0, 0, 0, 0]
    assert db.session.get(User, world.author.id).xp_total == 0
    audited = db.session.query(AuditLog).filter_by(action="forum.post.delete").all()
    assert len(audited) == (0 if who == "author" else 1)
    assert client.get(f"/api/posts/{post.id}", headers=world.h("admin")).status_code == 404


def test_reader_may_not_delete_others_post(client, world):
    post = make_post(world)
    assert client.delete(f"/api/posts/{post.id}", headers=world.h("reader")).status_code == 403
    assert count(Post) == 1


def test_deleting_a_module_keeps_its_posts(client, world):
    post = make_post(world, module_id=world.module_id)
    assert client.delete(f"/api/modules/{world.module_id}", headers=world.h("instructor")).status_code == 204
    db.session.expire_all()
    assert db.session.get(Post, post.id).module_id is None
    assert client.get(f"/api/posts/{post.id}", headers=world.h("reader")).get_json()["module_id"] is None
