"""The admins' queue: flagged items grouped with content, author, course and reasons; hide / dismiss."""

from __future__ import annotations

import pytest

from common.admin.models import AuditLog
from common.db import db
from common.forum.models import Flag, Post, Reply
from tests.factories import auth_headers, enroll, make_user
from tests.web.forum_world import count, make_post, make_reply, world  # noqa: F401


def _flags(world, item, n, reasons=("spam", "abuse", "spam"), **target):
    flags = []
    for i in range(n):
        user = make_user("student", name=f"Flagger {i}")
        enroll(user, world.course)
        flags.append(Flag(user_id=user.id, reason=reasons[i % len(reasons)], note=f"note {i}", **target))
    db.session.add_all(flags)
    db.session.commit()
    return flags


def _resolve(client, world, flag_id, action, who="admin"):
    return client.post(f"/api/admin/flags/{flag_id}/resolve", json={"action": action}, headers=world.h(who))


def test_queue_groups_flags_by_item_with_content(client, world):
    post = make_post(world, title="Spammy question", body="Visit my site")
    reply = make_reply(make_post(world, user=world.reader), world.instructor, body="Off topic answer")
    _flags(world, post, 3, post_id=post.id)
    _flags(world, reply, 1, reasons=("off_topic",), reply_id=reply.id)
    resp = client.get("/api/admin/flags", headers=world.h("admin"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["total"] == 2
    first, second = body["items"]
    assert (first["object_type"], first["object_id"], first["flag_count"]) == ("post", post.id, 3)
    assert first["reasons"] == {"spam": 2, "abuse": 1}
    assert first["content"]["title"] == "Spammy question" and first["content"]["body"] == "Visit my site"
    assert first["author"] == {"id": world.author.id, "name": "Ann Author", "role": "student"}
    assert first["course"] == {"id": world.course.id, "title": world.course.title}
    assert [f["user"]["name"] for f in first["flags"]] == ["Flagger 0", "Flagger 1", "Flagger 2"]
    assert first["flags"][0]["note"] == "note 0" and first["flag_id"] == first["flags"][0]["id"]
    assert (second["object_type"], second["object_id"], second["reasons"]) == (
        "reply",
        reply.id,
        {"off_topic": 1},
    )
    assert second["author"]["role"] == "instructor" and second["content"]["post_id"] == reply.post_id
    page = client.get("/api/admin/flags?per_page=1&page=2", headers=world.h("admin")).get_json()
    assert [i["object_id"] for i in page["items"]] == [reply.id]
    assert client.get("/api/admin/flags?status=dismissed", headers=world.h("admin")).get_json()["total"] == 0


@pytest.mark.parametrize("who,code", [(None, 401), ("author", 403), ("instructor", 403)])
def test_queue_is_admin_only(client, world, who, code):
    post = make_post(world)
    flag = _flags(world, post, 1, post_id=post.id)[0]
    assert client.get("/api/admin/flags", headers=world.h(who)).status_code == code
    assert _resolve(client, world, flag.id, "hide", who=who).status_code == code
    db.session.expire_all()
    assert flag.status == "open" and db.session.get(Post, post.id).hidden is False


def test_bad_queue_query_and_resolve_input(client, world):
    assert client.get("/api/admin/flags?status=closed", headers=world.h("admin")).status_code == 422
    post = make_post(world)
    flag = _flags(world, post, 1, post_id=post.id)[0]
    for bad in ({"action": "delete"}, {}, {"action": None}):
        resp = client.post(f"/api/admin/flags/{flag.id}/resolve", json=bad, headers=world.h("admin"))
        assert resp.status_code == 422 and resp.get_json()["code"] == 422
    assert _resolve(client, world, 999999, "hide").status_code == 404


def test_hide_resolves_every_open_flag_of_the_item_and_is_audited(client, world):
    post = make_post(world)
    flags = _flags(world, post, 2, post_id=post.id)
    other = make_post(world, title="Other flagged post")
    untouched = _flags(world, other, 1, post_id=other.id)[0]
    resp = _resolve(client, world, flags[1].id, "hide")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {
        "action": "hide",
        "object_type": "post",
        "object_id": post.id,
        "hidden": True,
        "flag_ids": [flags[0].id, flags[1].id],
    }
    db.session.expire_all()
    assert db.session.get(Post, post.id).hidden is True
    assert {f.status for f in db.session.query(Flag).filter_by(post_id=post.id)} == {"hidden"}
    assert all(
        f.resolved_by_id == world.admin.id and f.resolved_at
        for f in db.session.query(Flag).filter_by(post_id=post.id)
    )
    assert db.session.get(Flag, untouched.id).status == "open"
    entry = db.session.query(AuditLog).one()
    assert (entry.actor_id, entry.action, entry.object_type, entry.object_id) == (
        world.admin.id,
        "forum.flags.hide",
        "post",
        str(post.id),
    )
    assert (
        entry.detail["flag_ids"] == [flags[0].id, flags[1].id]
        and entry.detail["course_id"] == world.course.id
    )
    assert client.get(f"/api/posts/{post.id}", headers=world.h("reader")).status_code == 404
    assert _resolve(client, world, flags[0].id, "dismiss").status_code == 409
    queue = client.get("/api/admin/flags", headers=world.h("admin")).get_json()
    assert [i["object_id"] for i in queue["items"]] == [other.id]
    hidden_queue = client.get("/api/admin/flags?status=hidden", headers=world.h("admin")).get_json()
    assert [(i["object_id"], i["flag_count"]) for i in hidden_queue["items"]] == [(post.id, 2)]


def test_dismiss_restores_an_auto_hidden_reply(client, world):
    post = make_post(world)
    reply = make_reply(post, world.reader)
    for user in (make_user("student") for _ in range(3)):
        enroll(user, world.course)
        resp = client.post(
            f"/api/replies/{reply.id}/flag", json={"reason": "abuse"}, headers=auth_headers(user)
        )
        assert resp.status_code == 201
    db.session.expire_all()
    assert db.session.get(Reply, reply.id).hidden is True and db.session.get(Post, post.id).reply_count == 0
    flag = db.session.query(Flag).first()
    resp = _resolve(client, world, flag.id, "dismiss")
    assert resp.status_code == 200 and resp.get_json()["hidden"] is False
    db.session.expire_all()
    assert db.session.get(Reply, reply.id).hidden is False and db.session.get(Post, post.id).reply_count == 1
    assert {f.status for f in db.session.query(Flag)} == {"dismissed"}
    assert db.session.query(AuditLog).one().action == "forum.flags.dismiss"
    replies = client.get(f"/api/posts/{post.id}/replies", headers=world.h("author")).get_json()
    assert [i["id"] for i in replies["items"]] == [reply.id]


def test_admin_hides_a_reply_through_its_flag(client, world):
    post = make_post(world)
    reply = make_reply(post, world.reader)
    flag = _flags(world, reply, 1, reply_id=reply.id)[0]
    resp = _resolve(client, world, flag.id, "hide")
    assert resp.get_json()["object_type"] == "reply" and resp.get_json()["hidden"] is True
    db.session.expire_all()
    assert db.session.get(Post, post.id).reply_count == 0
    assert client.get(f"/api/posts/{post.id}/replies", headers=world.h("author")).get_json()["total"] == 0
    assert count(Reply) == 1
