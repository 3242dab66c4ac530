"""Cached catalogue pages and outlines: served from Redis, never stale after a change, never leaking URLs."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from common.cache import RedisCache, cache
from common.catalog import service
from common.catalog.models import Course, Lesson
from common.db import db
from tests.factories import auth_headers, enroll, make_course, make_user


def _h(user):
    return auth_headers(user) if user else {}


def _sneak_title(course_id, title):
    """Change a row behind the service's back: only a cached read can still show the old value."""
    db.session.execute(update(Course).where(Course.id == course_id).values(title=title))
    db.session.commit()


def _list_titles(client, query=""):
    return [c["title"] for c in client.get(f"/api/courses{query}").get_json()["items"]]


def test_catalogue_is_cached_in_redis(client, instructor):
    course = make_course(instructor, title="Original")
    assert _list_titles(client, "?domain=web-development") == ["Original"]
    assert cache.backend.backend == "redis"
    assert cache.client.keys("catalog:list:*")
    _sneak_title(course.id, "Sneaky")
    assert _list_titles(client, "?domain=web-development") == ["Original"]
    # a different query is a different entry
    assert _list_titles(client, "?domain=web-development&sort=price") == ["Sneaky"]


def test_course_edit_invalidates_lists_and_outline(client, instructor):
    course = make_course(instructor, title="Original")
    assert _list_titles(client) == ["Original"]
    assert client.get(f"/api/courses/{course.id}").get_json()["title"] == "Original"
    resp = client.patch(f"/api/courses/{course.id}", json={"title": "Edited"}, headers=_h(instructor))
    assert resp.status_code == 200
    assert _list_titles(client) == ["Edited"]
    assert client.get(f"/api/courses/{course.id}").get_json()["title"] == "Edited"


def test_domain_change_invalidates_domains(client, instructor):
    course = make_course(instructor, domain="design")
    assert client.get("/api/courses/domains").get_json()["items"] == [{"domain": "design", "count": 1}]
    client.patch(f"/api/courses/{course.id}", json={"domain": "art"}, headers=_h(instructor))
    assert client.get("/api/courses/domains").get_json()["items"] == [{"domain": "art", "count": 1}]


def test_approve_and_reject_invalidate(client, instructor, admin):
    pending = make_course(instructor, status="pending", title="Waiting", domain="design")
    other = make_course(instructor, status="pending", title="Rejected one")
    assert _list_titles(client) == []
    assert client.get("/api/courses/domains").get_json()["total"] == 0
    owner_view = client.get(f"/api/courses/{other.id}", headers=_h(instructor)).get_json()
    assert owner_view["status"] == "pending"
    service.approve_course(actor_id=admin.id, course_id=pending.id)
    assert _list_titles(client) == ["Waiting"]
    assert client.get("/api/courses/domains").get_json()["items"] == [{"domain": "design", "count": 1}]
    assert client.get(f"/api/courses/{pending.id}").status_code == 200
    service.reject_course(actor_id=admin.id, course_id=other.id, reason="Needs captions")
    owner_view = client.get(f"/api/courses/{other.id}", headers=_h(instructor)).get_json()
    assert (owner_view["status"], owner_view["rejection_reason"]) == ("rejected", "Needs captions")


def test_delete_invalidates(client, instructor):
    course = make_course(instructor, title="Doomed")
    assert _list_titles(client) == ["Doomed"]
    assert client.get(f"/api/courses/{course.id}").status_code == 200
    assert client.delete(f"/api/courses/{course.id}", headers=_h(instructor)).status_code == 204
    assert _list_titles(client) == []
    assert client.get(f"/api/courses/{course.id}").status_code == 404
    assert client.get("/api/courses/domains").get_json()["total"] == 0


def test_module_and_lesson_changes_invalidate_outline(client, instructor):
    course = make_course(instructor, modules=1, lessons=1)
    module = course.modules[0]
    h = _h(instructor)

    def outline(user=None):
        body = client.get(f"/api/courses/{course.id}", headers=_h(user)).get_json()
        return [(m["title"], [lesson["title"] for lesson in m["lessons"]]) for m in body["modules"]]

    assert outline() == outline(instructor) == [("Module 1", ["Lesson 1.1"])]
    client.post(f"/api/courses/{course.id}/modules", json={"title": "Intro", "position": 0}, headers=h)
    assert outline() == outline(instructor) == [("Intro", []), ("Module 1", ["Lesson 1.1"])]
    resp = client.post(
        f"/api/modules/{module.id}/lessons",
        json={"title": "New", "video_url": "https://v.example/n"},
        headers=h,
    )
    lesson_id = resp.get_json()["id"]
    assert outline() == [("Intro", []), ("Module 1", ["Lesson 1.1", "New"])]
    client.patch(f"/api/lessons/{lesson_id}", json={"title": "Renamed", "position": 0}, headers=h)
    assert outline() == outline(instructor) == [("Intro", []), ("Module 1", ["Renamed", "Lesson 1.1"])]
    client.patch(f"/api/modules/{module.id}", json={"title": "Core"}, headers=h)
    assert outline() == [("Intro", []), ("Core", ["Renamed", "Lesson 1.1"])]
    client.delete(f"/api/lessons/{lesson_id}", headers=h)
    assert outline() == [("Intro", []), ("Core", ["Lesson 1.1"])]
    client.delete(f"/api/modules/{module.id}", headers=h)
    assert outline() == outline(instructor) == [("Intro", [])]


def test_edit_of_one_course_leaves_others_outline_cached(client, instructor):
    first, second = make_course(instructor, title="First"), make_course(instructor, title="Second")
    client.get(f"/api/courses/{first.id}")
    _sneak_title(first.id, "Sneaky")
    client.patch(f"/api/courses/{second.id}", json={"title": "Second edited"}, headers=_h(instructor))
    assert client.get(f"/api/courses/{first.id}").get_json()["title"] == "First"


@pytest.mark.parametrize("order", [("anon", "enrolled"), ("enrolled", "anon")])
def test_urls_never_leak_through_cache(client, instructor, order):
    course = make_course(instructor)
    student = make_user("student")
    enroll(student, course)
    outsider = make_user("student")
    seen = {}
    for who in (*order, "outsider"):
        user = {"anon": None, "enrolled": student, "outsider": outsider}[who]
        body = client.get(f"/api/courses/{course.id}", headers=_h(user)).get_json()
        seen[who] = "video_url" in body["modules"][0]["lessons"][0]
    assert seen == {"anon": False, "enrolled": True, "outsider": False}


def test_lesson_url_change_reaches_enrolled_view(client, instructor):
    course = make_course(instructor)
    student = make_user("student")
    enroll(student, course)
    lesson = db.session.query(Lesson).filter_by(course_id=course.id, position=0).first()
    client.get(f"/api/courses/{course.id}", headers=_h(student))
    client.patch(
        f"/api/lessons/{lesson.id}", json={"video_url": "https://cdn.example/new.mp4"}, headers=_h(instructor)
    )
    body = client.get(f"/api/courses/{course.id}", headers=_h(student)).get_json()
    urls = [lesson["video_url"] for m in body["modules"] for lesson in m["lessons"]]
    assert "https://cdn.example/new.mp4" in urls


def test_reads_fail_open_without_redis(app, client, instructor):
    make_course(instructor, title="Still here")
    saved = app.extensions["cache"]
    app.extensions["cache"] = RedisCache("redis://127.0.0.1:1/0")
    try:
        assert _list_titles(client) == ["Still here"]
        assert client.get("/api/courses/domains").status_code == 200
        entry, _ = service.outline_body(course_id=1, user_id=None, role=None)
        assert cache.lookup(entry.version_key, entry.prefix, entry.suffix) == (None, None)
        assert entry.get_or_build(lambda: {"built": True}) == b'{"built":true}'  # built, not stored
        service.invalidate(1)  # bumps are best effort
    finally:
        app.extensions["cache"] = saved


def test_invalid_queries_are_never_served_from_cache(client, instructor):
    make_course(instructor, title="Listed")
    for query in ("?page=0", "?sort=bogus", "?min_price=50&max_price=10"):
        assert client.get(f"/api/courses{query}").status_code == 422
        assert client.get(f"/api/courses{query}").status_code == 422
    assert not cache.client.keys("catalog:list:*")
    # The same query spelt with its parameters in another order is the same entry.
    first = client.get("/api/courses?sort=price&per_page=5")
    assert first.headers["Link"].count("rel=") == 2
    _sneak_title(first.get_json()["items"][0]["id"], "Sneaky")
    again = client.get("/api/courses?per_page=5&sort=price")
    assert again.get_json()["items"][0]["title"] == "Listed"
    assert again.headers["Link"] == first.headers["Link"].replace(
        "sort=price&per_page=5", "per_page=5&sort=price"
    )


def test_unknown_query_parameters_do_not_mint_cache_entries(client, instructor):
    """The key is the parsed query: junk parameters (dropped by parsing) and a reordering or an
    explicit default hit the same entry, so `?x=<random>` cannot fill the cache without a token."""
    make_course(instructor, title="Original")
    assert _list_titles(client) == ["Original"]
    entries = set(cache.client.keys("catalog:list:*"))
    for query in ("?x=1", "?x=2&y=3", "?page=1&sort=newest", "?sort=newest&page=1&per_page=20", "?utm=a"):
        response = client.get(f"/api/courses{query}")
        assert response.status_code == 200 and response.headers["Link"]
    assert set(cache.client.keys("catalog:list:*")) == entries
    assert _list_titles(client, "?sort=price") == ["Original"]
    assert len(cache.client.keys("catalog:list:*")) == len(entries) + 1
