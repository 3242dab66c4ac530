"""A cached public read makes one Redis round trip: its rate-limit hit rides on its cache read, and the
limit is still enforced (same counter keys as the `limits` package, 429 + Retry-After)."""

from __future__ import annotations

import pytest
import redis

from common.gamification import service as gamification
from tests.factories import make_course, make_user


@pytest.fixture
def limited(app):
    """The suite's app with a small default limit (restored after)."""
    state = app.extensions["ratelimit"]
    saved = state.defaults
    from web.ratelimit import parse

    state.defaults = parse("3 per minute")
    yield app
    state.defaults = saved


@pytest.fixture
def redis_calls(monkeypatch):
    """Every command any redis-py client sends (the cache's and the limiter's), in order."""
    calls: list[str] = []
    original = redis.Redis.execute_command

    def counting(self, *args, **options):
        calls.append(str(args[0]))
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    return calls


@pytest.mark.parametrize("path", ["/api/courses?domain=web-development", "/api/courses/domains", "COURSE"])
def test_a_cached_catalogue_read_is_one_round_trip(limited, client, redis_calls, path):
    course = make_course(make_user("instructor"))
    path = f"/api/courses/{course.id}" if path == "COURSE" else path
    assert client.get(path).status_code == 200  # fills the cache
    redis_calls.clear()
    assert client.get(path).status_code == 200
    assert redis_calls == ["EVALSHA"]


def test_a_leaderboard_read_is_one_round_trip(limited, client, redis_calls):
    gamification.rebuild_leaderboards()
    assert client.get("/api/leaderboard?period=weekly").status_code == 200
    redis_calls.clear()
    assert client.get("/api/leaderboard?period=weekly").json["source"] == "redis"
    assert redis_calls == ["EVALSHA"]


def test_the_folded_hit_still_enforces_the_default_limit(limited, client, app):
    make_course(make_user("instructor"))
    codes = [client.get("/api/courses").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    blocked = client.get("/api/courses")
    assert blocked.status_code == 429 and 0 < int(blocked.headers["Retry-After"]) <= 60
    assert blocked.get_json()["code"] == 429
    # The counter is the one the `limits` package keeps for this client and route.
    state = app.extensions["ratelimit"]
    item = state.defaults[0]
    key = state.storage.prefixed_key(item.key_for(state.prefix, "127.0.0.1", "catalog.list_courses"))
    assert int(state.storage.get_connection().get(key)) == 5
    # Other routes have counters of their own.
    assert client.get("/api/courses/domains").status_code == 200


def test_a_request_that_reads_no_cache_entry_is_still_counted(limited, client):
    # A 422 is answered before the cache is read: the hit is made when the view gives up.
    codes = [client.get("/api/courses?sort=bogus").status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]


def test_routes_without_a_cache_read_count_in_before_request(limited, client, redis_calls):
    student = make_user("student")
    from tests.factories import auth_headers

    headers = auth_headers(student)
    codes = [client.get("/api/me/enrollments", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
