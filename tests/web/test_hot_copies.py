"""Hot copies (CACHE_HOT_SECONDS): each web process serves the hottest public bodies from its memory,
with no Redis round trip; its own writes show at once, another process's within the bound."""

from __future__ import annotations

import time

import pytest

from common.cache import HotCopies, cache
from common.db import db
from common.gamification import service as gamification
from tests.factories import auth_headers, make_course, make_user
from web.app import create_app


@pytest.fixture
def hot_for(app):
    """Set the suite's hot-copy lifetime for one test (restored after)."""
    hot = cache.hot
    saved = hot.seconds

    def set_seconds(seconds: float) -> HotCopies:
        hot.seconds = seconds
        return hot

    yield set_seconds
    hot.seconds = saved


@pytest.mark.parametrize("path", ["/api/courses?domain=web-development", "/api/courses/domains", "COURSE"])
def test_a_hot_catalogue_read_makes_no_round_trip(client, redis_calls, hot_for, path):
    hot_for(3600)  # a slow machine must not see the copy expire between the two reads
    course = make_course(make_user("instructor"))
    path = f"/api/courses/{course.id}" if path == "COURSE" else path
    first = client.get(path)
    assert first.status_code == 200  # read from PostgreSQL, stored in Redis and kept in the process
    redis_calls.clear()
    again = client.get(path)
    assert again.status_code == 200 and again.data == first.data
    assert redis_calls == []


def test_an_anonymous_leaderboard_read_makes_no_round_trip(client, redis_calls, hot_for):
    hot_for(3600)
    user = make_user()
    gamification.award_xp(user_id=user.id, type="quiz_pass", source_id=1)
    db.session.commit()
    gamification.rebuild_leaderboards()
    assert client.get("/api/leaderboard").json["source"] == "redis"
    redis_calls.clear()
    body = client.get("/api/leaderboard").get_json()
    assert redis_calls == []
    assert body["items"][0]["user"]["id"] == user.id and body["me"] is None
    # With a token the caller's own standing is read from Redis each time.
    headers = auth_headers(user)
    client.get("/api/leaderboard", headers=headers)
    redis_calls.clear()
    assert client.get("/api/leaderboard", headers=headers).json["me"] == {"rank": 1, "points": 20}
    assert "EVALSHA" in redis_calls


def test_this_processs_writes_show_at_once(client, hot_for):
    hot_for(3600)  # a copy that would outlive the test: only the write's drop can refresh it
    instructor = make_user("instructor")
    course = make_course(instructor, title="Original")
    assert client.get("/api/courses").json["items"][0]["title"] == "Original"
    assert client.get(f"/api/courses/{course.id}").json["title"] == "Original"
    edit = client.patch(
        f"/api/courses/{course.id}", json={"title": "Edited"}, headers=auth_headers(instructor)
    )
    assert edit.status_code == 200
    assert client.get("/api/courses").json["items"][0]["title"] == "Edited"
    assert client.get(f"/api/courses/{course.id}").json["title"] == "Edited"
    # XP awarded through this process shows on the anonymous board at once.
    student = make_user()
    gamification.rebuild_leaderboards()
    assert client.get("/api/leaderboard").json["items"] == []
    gamification.award_xp(user_id=student.id, type="lesson_complete", source_id=1)
    db.session.commit()
    assert [i["points"] for i in client.get("/api/leaderboard").json["items"]] == [10]


def test_another_processs_write_shows_within_the_bound(client, hot_for):
    hot_for(1.0)
    instructor = make_user("instructor")
    course = make_course(instructor, title="Original")
    assert client.get("/api/courses").json["items"][0]["title"] == "Original"
    other = create_app().test_client()  # another web process on the same Redis and database
    edit = other.patch(
        f"/api/courses/{course.id}", json={"title": "Edited"}, headers=auth_headers(instructor)
    )
    assert edit.status_code == 200
    assert other.get("/api/courses").json["items"][0]["title"] == "Edited"
    assert client.get("/api/courses").json["items"][0]["title"] == "Original"  # this process's copy
    time.sleep(1.05)
    assert client.get("/api/courses").json["items"][0]["title"] == "Edited"


def test_a_body_read_while_its_family_changed_is_not_kept():
    hot = HotCopies(60)
    generation = hot.generation("family")
    hot.drop("family")  # a write committed while the body was being read or built
    hot.keep("family", "entry", b"older body", generation)
    assert hot.get("family", "entry") is None
    hot.keep("family", "entry", b"newer body", hot.generation("family"))
    assert hot.get("family", "entry") == b"newer body"


def test_copies_expire_and_stay_bounded():
    hot = HotCopies(0.05, max_entries=2)
    hot.keep("a", "1", b"one", 0)
    hot.keep("a", "2", b"two", 0)
    hot.keep("b", "3", b"three", 0)  # over the bound: every copy is dropped first
    assert hot.get("a", "1") is None and hot.get("b", "3") == b"three"
    time.sleep(0.06)
    assert hot.get("b", "3") is None


def test_zero_seconds_turns_hot_copies_off(redis_calls):
    off = create_app({"CACHE_HOT_SECONDS": 0})
    assert off.extensions["cache"].hot is None
    client = off.test_client()
    with off.app_context():
        make_course(make_user("instructor"))
    client.get("/api/courses/domains")
    redis_calls.clear()
    assert client.get("/api/courses/domains").status_code == 200
    assert redis_calls == ["EVALSHA"]  # the versioned read, every time


def test_nothing_is_kept_while_redis_is_down(app):
    down = create_app({"REDIS_URL": "redis://127.0.0.1:1/0", "RATELIMIT_STORAGE_URI": "memory://"})
    client = down.test_client()
    with down.app_context():
        make_course(make_user("instructor"), title="From the database")
    assert client.get("/api/courses").json["items"][0]["title"] == "From the database"
    hot = down.extensions["cache"].hot
    assert hot is not None and hot._size == 0


# ---- whole responses (web/hot.py) ------------------------------------------------------------


def test_an_anonymous_repeat_is_answered_whole_without_redis_or_the_database(client, redis_calls, hot_for):
    hot_for(3600)
    from sqlalchemy import event

    make_course(make_user("instructor"))
    url = "/api/courses?domain=web-development&per_page=5"
    first = client.get(url)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    redis_calls.clear()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        again = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert (redis_calls, statements) == ([], [])
    assert again.status_code == 200 and again.data == first.data
    assert again.headers["Link"] == first.headers["Link"]
    # The security and CORS headers are added to the kept answer as to any other, once.
    assert again.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert sorted(again.headers.keys()) == sorted(first.headers.keys())


def test_the_host_and_query_string_pick_the_kept_answer(client):
    make_course(make_user("instructor"))
    one = client.get("/api/courses?per_page=1", base_url="http://one.example")
    other_host = client.get("/api/courses?per_page=1", base_url="http://two.example")
    assert one.headers["Link"].startswith("<http://one.example/api/courses?")
    assert other_host.headers["Link"].startswith("<http://two.example/api/courses?")
    assert client.get("/api/courses?per_page=bogus").status_code == 422  # never kept
    assert client.get("/api/courses?per_page=bogus").status_code == 422


def test_a_caller_with_a_token_gets_their_own_answer(client):
    from tests.factories import enroll

    instructor, student = make_user("instructor"), make_user()
    course = make_course(instructor)
    enroll(student, course)
    public = client.get(f"/api/courses/{course.id}").get_json()
    assert public["content_access"] is False
    assert client.get(f"/api/courses/{course.id}").get_json()["content_access"] is False  # kept
    mine = client.get(f"/api/courses/{course.id}", headers=auth_headers(student)).get_json()
    assert mine["content_access"] is True


def test_kept_answers_still_count_against_the_rate_limit(app, client):
    from web.ratelimit import parse

    make_course(make_user("instructor"))
    state = app.extensions["ratelimit"]
    saved = state.defaults
    state.defaults = parse("3 per minute")
    try:
        codes = [client.get("/api/courses/domains").status_code for _ in range(4)]
    finally:
        state.defaults = saved
    assert codes == [200, 200, 200, 429]
