"""The post list: filters, sorts, full-text search, the caller's vote, and a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, text

from common.db import db, utcnow
from common.forum.models import Vote
from tests.factories import make_user
from tests.web.forum_world import make_post, make_reply, world  # noqa: F401


def _list(client, world, who="reader", **args):
    resp = client.get(f"/api/courses/{world.course.id}/posts", query_string=args, headers=world.h(who))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _dated(world, title, minutes_ago, **kwargs):
    post = make_post(world, title=title, **kwargs)
    post.created_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return post


def test_list_shape_and_sorts(client, world):
    old = _dated(world, "Old but popular", 30, votes=5)
    answered = _dated(world, "Answered question", 20, votes=1)
    new = _dated(world, "Brand new question", 10, user=world.instructor)
    reply = make_reply(answered, world.instructor)
    answered.accepted_reply_id = reply.id
    db.session.add(Vote(post_id=old.id, user_id=world.reader.id, value=-1))
    db.session.commit()

    body = _list(client, world)
    assert [i["id"] for i in body["items"]] == [new.id, answered.id, old.id]
    assert (body["total"], body["page"], body["pages"]) == (3, 1, 1)
    by_id = {i["id"]: i for i in body["items"]}
    assert by_id[old.id]["my_vote"] == -1 and by_id[new.id]["my_vote"] == 0
    assert by_id[answered.id]["reply_count"] == 1 and by_id[answered.id]["accepted_reply_id"] == reply.id
    assert by_id[new.id]["author"] == {
        "id": world.instructor.id,
        "name": "Ira Instructor",
        "role": "instructor",
    }
    assert set(by_id[old.id]) >= {
        "id",
        "course_id",
        "module_id",
        "user",
        "author",
        "title",
        "body",
        "votes",
        "reply_count",
        "accepted_reply_id",
        "created_at",
        "edited_at",
        "my_vote",
    }

    assert [i["id"] for i in _list(client, world, sort="top")["items"]] == [old.id, answered.id, new.id]
    assert [i["id"] for i in _list(client, world, sort="unanswered")["items"]] == [new.id, old.id]
    assert "Link" in client.get(f"/api/courses/{world.course.id}/posts", headers=world.h("reader")).headers


def test_module_filter(client, world):
    in_module = make_post(world, title="About module one", module_id=world.module_id)
    make_post(world, title="General question")
    body = _list(client, world, module_id=world.module_id)
    assert [i["id"] for i in body["items"]] == [in_module.id]
    resp = client.get(
        f"/api/courses/{world.course.id}/posts",
        query_string={"module_id": world.other_course.modules[0].id},
        headers=world.h("reader"),
    )
    assert resp.status_code == 422


def test_full_text_search_over_titles_and_bodies(client, world):
    a = make_post(world, title="Window functions confuse me", body="rank versus dense_rank")
    b = make_post(world, title="Grouping question", body="How do window frames work?")
    make_post(world, title="Unrelated", body="Nothing to see")
    found = {i["id"] for i in _list(client, world, q="window")["items"]}
    assert found == {a.id, b.id}  # stemming: "windows"/"window" alike
    assert {i["id"] for i in _list(client, world, q="windows")["items"]} == {a.id, b.id}
    assert {i["id"] for i in _list(client, world, q='"dense_rank" -grouping')["items"]} == {a.id}
    assert _list(client, world, q="&|!:*()")["total"] == 0  # tsquery syntax in input never errors


def test_search_uses_the_gin_index(world):
    make_post(world)
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        db.session.execute(
            text(
                "EXPLAIN SELECT id FROM posts WHERE "
                "to_tsvector('english', coalesce(posts.title, '') || ' ' || coalesce(posts.body, '')) "
                "@@ websearch_to_tsquery('english', 'join')"
            )
        ).scalars()
    )
    assert "ix_posts_search" in plan


@pytest.mark.parametrize(
    "args",
    [
        {"sort": "oldest"},
        {"per_page": 0},
        {"per_page": 101},
        {"page": 0},
        {"module_id": "x"},
        {"q": "x" * 201},
    ],
)
def test_bad_query_is_422(client, world, args):
    resp = client.get(f"/api/courses/{world.course.id}/posts", query_string=args, headers=world.h("reader"))
    assert resp.status_code == 422 and resp.get_json()["code"] == 422


def test_pagination(client, world):
    for n in range(5):
        _dated(world, f"Question number {n}", 50 - n)
    page = _list(client, world, per_page=2, page=3)
    assert (page["total"], page["pages"], len(page["items"])) == (5, 3, 1)
    assert page["items"][0]["title"] == "Question number 0"
    # The total rides on the page's rows; a page past the end has none, so it is counted apart.
    past = _list(client, world, per_page=2, page=4)
    assert (past["total"], past["pages"], past["items"]) == (5, 3, [])
    empty = _list(client, world, q="nothing-matches-this")
    assert (empty["total"], empty["pages"], empty["items"]) == (0, 0, [])


def test_fixed_query_count_per_page(app, client, world):
    """Query count does not grow with the page size (author, role, my_vote, counts included)."""
    voters = [make_user("student") for _ in range(3)]
    for n in range(12):
        post = make_post(world, user=world.author if n % 2 else world.instructor, title=f"Question {n:02d}")
        reply = make_reply(post, world.instructor)
        post.accepted_reply_id = reply.id
        for voter in voters:
            db.session.add(Vote(post_id=post.id, user_id=voter.id, value=1))
        db.session.add(Vote(post_id=post.id, user_id=world.reader.id, value=1 if n % 3 else -1))
    db.session.commit()

    url = f"/api/courses/{world.course.id}/posts"
    tokens = {who: world.h(who) for who in ("reader", "instructor", "admin")}

    def queries(per_page, who="reader"):
        statements, headers = [], tokens[who]
        client.get(url, headers=headers)  # token state now cached
        db.session.expunge_all()  # the request shares this session: no identity-map help

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            resp = client.get(f"{url}?per_page={per_page}", headers=headers)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert resp.status_code == 200
        items = resp.get_json()["items"]
        assert len(items) == per_page
        assert all(i["my_vote"] in (1, -1) for i in items) if who == "reader" else True
        return len(statements)

    small, large = queries(2), queries(12)
    assert small == large
    # one statement: the page with its total, the course's instructor and the caller's enrollment
    # (authors, my_vote and the accepted reply's state included)
    assert large == 1
    assert queries(2, "instructor") == queries(12, "instructor") == 1
    assert queries(2, "admin") == queries(12, "admin") == 1


@pytest.mark.parametrize("posts", [0, 1])
def test_the_readers_rule_holds_with_and_without_posts_on_the_page(client, world, posts):
    """With posts the rule is read off the page's own row; without, from the course: same answers."""
    from tests.web.forum_world import OUTSIDERS

    for n in range(posts):
        make_post(world, title=f"Question {n}", module_id=world.module_id)
    url = f"/api/courses/{world.course.id}/posts"
    for who in OUTSIDERS:
        assert client.get(url, headers=world.h(who)).status_code == 404, who
        # a page past the end has no rows either: still 404, never an empty list
        assert client.get(f"{url}?page=3", headers=world.h(who)).status_code == 404, who
    for who in ("reader", "instructor", "admin"):
        body = _list(client, world, who)
        assert body["total"] == posts and len(body["items"]) == posts
        assert _list(client, world, who, page=3)["items"] == []
    # a module of the course filters; one of no course is 422 whether or not the course has posts
    assert _list(client, world, module_id=world.module_id)["total"] == posts
    bad = client.get(f"{url}?module_id=999999", headers=world.h("reader"))
    assert bad.status_code == 422
