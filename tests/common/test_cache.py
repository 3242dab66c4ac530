"""The two cache backends behave alike; cached reads fail open, auth-relevant calls surface errors."""

from __future__ import annotations

import time

import pytest

from common.cache import CacheUnavailable, MemoryCache, RedisCache, cache
from tests.conftest import TEST_REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def backend(request):
    if request.param == "memory":
        return MemoryCache()
    redis_cache = RedisCache(TEST_REDIS_URL)
    redis_cache.flush()
    return redis_cache


def test_get_set_delete_and_many(backend):
    assert backend.get("k") is None
    backend.set("k", "v")
    backend.set("b", b"bytes")
    assert backend.get("k") == b"v"
    assert backend.get_many(["k", "missing", "b"]) == [b"v", None, b"bytes"]
    backend.delete("k", "b")
    assert backend.get_many(["k", "b"]) == [None, None]
    assert backend.ping() is True


def test_add_is_an_atomic_claim(backend):
    assert backend.add("claim", "1", 60) is True
    assert backend.add("claim", "2", 60) is False
    assert backend.get("claim") == b"1"


def test_incr_and_expiry(backend):
    assert backend.incr("n") == 1
    assert backend.incr("n") == 2
    backend.set("short", "x", ttl=1)
    time.sleep(1.1)
    assert backend.get("short") is None
    backend.flush()
    assert backend.get("n") is None


def test_memory_cache_expired_key_can_be_claimed_again():
    memory = MemoryCache()
    memory.set("k", "old", ttl=1)
    time.sleep(1.05)
    assert memory.add("k", "new", 5) is True
    assert memory.incr("counter") == 1


def test_proxy_json_helpers_and_fail_open(app):
    cache.set_json("j", {"a": [1, 2]}, 30)
    assert cache.get_json("j") == {"a": [1, 2]}
    calls = []
    assert cache.cached_json("c", 30, lambda: calls.append(1) or {"v": 1}) == {"v": 1}
    assert cache.cached_json("c", 30, lambda: calls.append(1) or {"v": 2}) == {"v": 1}
    assert len(calls) == 1
    cache.bump("version")
    cache.bump("version")
    assert cache.get("version") == b"2"


def test_unreachable_redis(app):
    dead = RedisCache("redis://127.0.0.1:1/0")
    with pytest.raises(CacheUnavailable):
        dead.get("x")
    saved = app.extensions["cache"]
    app.extensions["cache"] = dead
    try:
        # Cached reads compute instead of failing; version bumps are skipped quietly.
        assert cache.cached_json("k", 10, lambda: {"fresh": True}) == {"fresh": True}
        cache.bump("v")
    finally:
        app.extensions["cache"] = saved


def test_read_versioned_follows_the_family_version(backend):
    assert backend.read_versioned("fam:v", "fam:", ":x") == ("fam:0:x", None)
    backend.set("fam:0:x", "old")
    assert backend.read_versioned("fam:v", "fam:", ":x") == ("fam:0:x", b"old")
    backend.incr("fam:v")
    # After a bump the old entry is never read again; a fresh value goes under the new key.
    assert backend.read_versioned("fam:v", "fam:", ":x") == ("fam:1:x", None)


def test_proxy_lookup_and_safe_set(app):
    key, value = cache.lookup("fam:v", "fam:", ":y")
    assert value is None
    cache.safe_set(key, b"body", 30)
    assert cache.lookup("fam:v", "fam:", ":y") == (key, b"body")
    cache.safe_set(None, b"ignored")
    saved = app.extensions["cache"]
    app.extensions["cache"] = RedisCache("redis://127.0.0.1:1/0")
    try:
        assert cache.lookup("fam:v", "fam:", ":y") == (None, None)
        cache.safe_set("fam:0:y", b"lost")  # the cache being down is not an error here
    finally:
        app.extensions["cache"] = saved


def test_take_hands_a_value_out_once(backend):
    backend.set("once", "v", ttl=60)
    assert backend.take("once") == b"v"
    assert backend.take("once") is None and backend.get("once") is None
    assert backend.take("never-set") is None


def test_breaker_skips_a_failed_redis_until_its_period_ends():
    from tests.redis_server import HungServer

    hung = HungServer()
    try:
        backend = RedisCache(hung.url, socket_timeout=0.1, connect_timeout=0.1, breaker_seconds=300)
        with pytest.raises(CacheUnavailable):
            backend.get("k")  # times out once: no retries of a timeout
        for _ in range(50):
            with pytest.raises(CacheUnavailable, match="circuit open"):
                backend.get_many(["k", "j"])
        assert hung.connections == 1 and backend.breaker.opened
    finally:
        hung.close()


def test_breaker_lets_a_probe_through_and_closes_on_success():
    from tests.redis_server import PrivateRedis

    server = PrivateRedis().start()
    try:
        backend = RedisCache(server.url, breaker_seconds=0.05)
        assert backend.ping() is True
        server.stop()
        with pytest.raises(CacheUnavailable):
            backend.ping()
        assert backend.breaker.opened
        server.start()
        time.sleep(0.1)  # the open period passes (no timing is asserted)
        # The pooled connection died with the server: retried once at once, then the breaker closes.
        assert backend.ping() is True and backend.breaker.closed
    finally:
        server.stop()


def test_while_one_caller_probes_a_half_open_breaker_the_others_fail_fast():
    import threading

    from tests.redis_server import HungServer

    hung = HungServer()
    try:
        backend = RedisCache(hung.url, socket_timeout=1, connect_timeout=1, breaker_seconds=0.05)
        with pytest.raises(CacheUnavailable):
            backend.get("k")
        time.sleep(0.1)  # the open period passes: the next call is a probe
        probe = threading.Thread(target=lambda: pytest.raises(CacheUnavailable, backend.get, "k"))
        probe.start()
        while hung.connections < 2:  # the probe is connected and waiting for an answer
            time.sleep(0.01)
        for _ in range(20):
            with pytest.raises(CacheUnavailable, match="a probe is in flight"):
                backend.get("k")
        probe.join(timeout=10)
        assert hung.connections == 2 and backend.breaker.opened
    finally:
        hung.close()
