"""The default limit (a flood guard on every route) costs no round trip per request: each process
counts its hits and adds them to the store in one call every RATELIMIT_SYNC_SECONDS. It is still
enforced (429 + Retry-After), exactly within one process, across processes as of their last sync,
in the same counter keys as the `limits` package, and in memory when the store is down."""

from __future__ import annotations

import pytest

from tests.factories import auth_headers, make_course, make_user
from web.app import create_app
from web.ratelimit import parse


@pytest.fixture
def limited(app):
    """The suite's app with a default limit of 3 a minute and a sync interval longer than any test
    (restored after)."""
    state = app.extensions["ratelimit"]
    saved = state.defaults, state.shared.interval
    state.defaults, state.shared.interval = parse("3 per minute"), 3600.0
    yield app
    state.defaults, state.shared.interval = saved
    state.shared.next_sync = 0.0


def _store_count(app, client_address: str, endpoint: str, limit: str = "3 per minute") -> int:
    """The counter the `limits` package keeps for this client, route and limit, as stored."""
    state = app.extensions["ratelimit"]
    key = state.storage.prefixed_key(parse(limit)[0].key_for(state.prefix, client_address, endpoint))
    return int(state.storage.get_connection().get(key) or 0)


def test_counting_a_hit_makes_no_round_trip(limited, client, redis_calls, monkeypatch):
    from common.cache import cache

    monkeypatch.setattr(cache.hot, "seconds", 3600)  # the body stays a hot copy however slow the machine
    make_course(make_user("instructor"))
    assert client.get("/api/courses/domains").status_code == 200  # the first sync
    redis_calls.clear()
    assert client.get("/api/courses/domains").status_code == 200
    assert redis_calls == []  # the body was a hot copy and the hit stayed in the process


def test_the_default_limit_is_exact_within_a_process(limited, client, app):
    make_course(make_user("instructor"))
    codes = [client.get("/api/courses").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    blocked = client.get("/api/courses")
    assert blocked.status_code == 429 and 0 < int(blocked.headers["Retry-After"]) <= 60
    assert blocked.get_json()["code"] == 429
    # The first request synced (one hit); the rest wait for the next sync, which adds them all.
    assert _store_count(app, "127.0.0.1", "catalog.list_courses") == 1
    app.extensions["ratelimit"].shared.sync()
    assert _store_count(app, "127.0.0.1", "catalog.list_courses") == 5
    # Other routes have counters of their own.
    assert client.get("/api/courses/domains").status_code == 200


def test_processes_share_the_count_as_of_their_last_sync(limited, app):
    # A second app on the same store stands for another web process.
    other = create_app({"RATELIMIT_DEFAULT": "3 per minute", "RATELIMIT_SYNC_SECONDS": 3600})
    first, second = app.test_client(), other.test_client()
    assert [first.get("/api/courses").status_code for _ in range(2)] == [200, 200]
    app.extensions["ratelimit"].shared.sync()  # the store holds 2
    # The other process syncs on its first request: it learns of the 2 and adds its own hit.
    assert second.get("/api/courses").status_code == 200
    assert second.get("/api/courses").status_code == 429
    assert _store_count(app, "127.0.0.1", "catalog.list_courses") == 3


def test_a_sync_interval_of_zero_counts_every_hit_in_the_store(app):
    exact = {"RATELIMIT_DEFAULT": "3 per minute", "RATELIMIT_SYNC_SECONDS": 0}
    first, second = create_app(exact).test_client(), create_app(exact).test_client()
    codes = [(first if i % 2 else second).get("/api/courses").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert _store_count(app, "127.0.0.1", "catalog.list_courses") == 4


def test_many_requests_make_one_sync_per_interval(limited, app, client, redis_calls):
    student = make_user("student")
    headers = auth_headers(student)
    state = app.extensions["ratelimit"]
    state.defaults = parse("1000 per minute")
    assert client.get("/api/me/enrollments", headers=headers).status_code == 200  # the first sync
    redis_calls.clear()
    for _ in range(9):
        assert client.get("/api/me/enrollments", headers=headers).status_code == 200
    # The other nine hits are in the process until the next sync.
    assert "EVALSHA" not in redis_calls
    assert _store_count(app, "127.0.0.1", "learning.my_enrollments", "1000 per minute") == 1
    state.shared.next_sync = 0.0  # the interval is over
    assert client.get("/api/me/enrollments", headers=headers).status_code == 200
    assert redis_calls.count("EVALSHA") == 1
    assert _store_count(app, "127.0.0.1", "learning.my_enrollments", "1000 per minute") == 11


def test_a_request_that_reads_no_cache_entry_is_counted_too(limited, client):
    codes = [client.get("/api/courses?sort=bogus").status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]


def test_the_store_down_counts_in_memory_or_serves_when_the_fallback_is_off(app):
    dead = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0", "RATELIMIT_DEFAULT": "2 per minute"}
    with_fallback = create_app(dead)
    client = with_fallback.test_client()
    assert [client.get("/api/courses").status_code for _ in range(4)] == [200, 200, 429, 429]
    assert with_fallback.extensions["ratelimit"].dead
    without = create_app({**dead, "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False}).test_client()
    assert [without.get("/api/courses").status_code for _ in range(4)] == [200] * 4


def test_the_store_back_takes_the_counts_again(app):
    # The store "fails" (a dead address) and comes back (the real one) without restarting the app.
    flaky = create_app({"RATELIMIT_DEFAULT": "5 per minute", "RATELIMIT_SYNC_SECONDS": 0})
    state = flaky.extensions["ratelimit"]
    client = flaky.test_client()
    state.mark_dead(ConnectionError("simulated outage"))
    state.last_probe = 10**12  # not re-probed yet: counted in the process
    assert client.get("/api/courses").status_code == 200
    assert _store_count(app, "127.0.0.1", "catalog.list_courses", "5 per minute") == 0
    state.last_probe = 0.0  # the backoff is over: the next sync probes the store and adds its hits
    assert client.get("/api/courses").status_code == 200
    assert not state.dead
    assert _store_count(app, "127.0.0.1", "catalog.list_courses", "5 per minute") == 1


def test_the_embedded_default_counts_in_the_librarys_memory_store(app):
    memory = create_app({"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_DEFAULT": "2 per minute"})
    client = memory.test_client()
    assert [client.get("/api/courses").status_code for _ in range(3)] == [200, 200, 429]
    state = memory.extensions["ratelimit"]
    state.shared.sync()
    key = state.defaults[0].key_for(state.prefix, "127.0.0.1", "catalog.list_courses")
    assert state.storage.get(key) == 3
