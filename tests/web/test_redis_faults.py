"""Redis lost, stopped or hung, on a private redis-server (never the suite's): revocations survive, the
public catalogue and auth keep answering from PostgreSQL, limits fall back to memory, all recovers."""

from __future__ import annotations

import time

import pytest

from tests.factories import PASSWORD, make_course
from tests.redis_server import HungServer, PrivateRedis

# Generous bounds on waiting for recovery, never asserted as speed.
RECOVERY_DEADLINE = 90


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def login(client, email, password=PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password})


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


@pytest.fixture
def restore_limiter(app):
    """Each app keeps its own limit store (web/ratelimit.py): the suite's app is untouched by the
    apps these tests build; this checks it still counts in the suite's Redis afterwards."""
    from web.extensions import limiter

    yield limiter
    state = app.extensions["ratelimit"]
    assert not state.dead and state.uri == app.config["RATELIMIT_STORAGE_URI"]


def _wait_until(predicate, what: str):
    deadline = time.monotonic() + RECOVERY_DEADLINE
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {RECOVERY_DEADLINE}s"
        time.sleep(0.1)


def _cache_answers(app) -> bool:
    from common.cache import CacheUnavailable

    try:
        return app.extensions["cache"].ping()
    except CacheUnavailable:
        return False


def _next_second():
    """Sleep past the current second: an epoch set from now on is later than every iat minted so far."""
    time.sleep(1.05 - (time.time() % 1))


def _restart_empty(server: PrivateRedis, app):
    server.stop()
    server.start()
    _wait_until(lambda: _cache_answers(app), "the cache reconnecting")


def test_revocations_survive_redis_restarting_empty(private_redis, student):
    from tests.conftest import TEST_REDIS_URL
    from web.app import create_app

    app = create_app(
        {
            "REDIS_URL": private_redis.url,
            "RATELIMIT_STORAGE_URI": TEST_REDIS_URL,
            "REDIS_BREAKER_SECONDS": 0.1,
        }
    )
    client = app.test_client()
    with app.app_context():
        logged_out = login(client, student.email).get_json()
        assert client.post("/api/auth/logout", headers=bearer(logged_out["access_token"])).status_code == 200
        logged_out_by_refresh = login(client, student.email).get_json()
        assert (
            client.post(
                "/api/auth/logout/refresh", headers=bearer(logged_out_by_refresh["refresh_token"])
            ).status_code
            == 200
        )
        rotated = login(client, student.email).get_json()
        current = client.post("/api/auth/refresh", headers=bearer(rotated["refresh_token"])).get_json()
        alive = login(client, student.email).get_json()
        assert client.get("/api/auth/me", headers=bearer(alive["access_token"])).status_code == 200

        _next_second()
        _restart_empty(private_redis, app)
        assert private_redis.client().dbsize() == 0

        for pair in (logged_out, logged_out_by_refresh):
            assert client.get("/api/auth/me", headers=bearer(pair["access_token"])).status_code == 401
            assert client.post("/api/auth/refresh", headers=bearer(pair["refresh_token"])).status_code == 401
        # The already-rotated refresh token is still refused, and its reuse ends that session.
        assert client.post("/api/auth/refresh", headers=bearer(rotated["refresh_token"])).status_code == 401
        assert client.post("/api/auth/refresh", headers=bearer(current["refresh_token"])).status_code == 401
        # A live session's access token predates the new epoch: refused; its refresh token works.
        assert client.get("/api/auth/me", headers=bearer(alive["access_token"])).status_code == 401
        assert private_redis.client().get("auth:epoch") is not None
        renewed = client.post("/api/auth/refresh", headers=bearer(alive["refresh_token"]))
        assert renewed.status_code == 200
        assert (
            client.get("/api/auth/me", headers=bearer(renewed.get_json()["access_token"])).status_code == 200
        )


def test_redis_stopped_mid_run_then_restarted(private_redis, restore_limiter, student, admin, instructor):
    from common.accounts.service import set_suspended
    from tests.factories import make_user
    from web.app import create_app

    course = make_course(instructor, title="Kept in PostgreSQL")
    victim = make_user("student")
    app = create_app(
        {
            "REDIS_URL": private_redis.url,
            "RATELIMIT_STORAGE_URI": private_redis.url,
            "REDIS_BREAKER_SECONDS": 0.1,
        }
    )
    client = app.test_client()
    with app.app_context():
        session = login(client, student.email).get_json()
        doomed = login(client, student.email).get_json()
        victim_headers = bearer(login(client, victim.email).get_json()["access_token"])
        assert client.get("/api/courses").status_code == 200

        private_redis.stop()
        # The public catalogue answers from PostgreSQL.
        listing = client.get("/api/courses")
        assert listing.status_code == 200 and [c["title"] for c in listing.get_json()["items"]] == [
            course.title
        ]
        assert client.get(f"/api/courses/{course.id}").status_code == 200
        # Token checks answer from PostgreSQL, the truth: valid, logged out and suspended all correct.
        assert client.get("/api/auth/me", headers=bearer(session["access_token"])).status_code == 200
        assert client.post("/api/auth/logout", headers=bearer(doomed["access_token"])).status_code == 200
        assert client.get("/api/auth/me", headers=bearer(doomed["access_token"])).status_code == 401
        set_suspended(actor_id=admin.id, user_id=victim.id, suspended=True)
        assert client.get("/api/auth/me", headers=victim_headers).status_code == 403
        # Refresh works (PostgreSQL) and so does the new pair.
        renewed = client.post("/api/auth/refresh", headers=bearer(session["refresh_token"]))
        assert renewed.status_code == 200
        session = renewed.get_json()
        assert client.get("/api/auth/me", headers=bearer(session["access_token"])).status_code == 200
        # Login stays rate-limited: per process, in memory, at the same limit.
        limit = int(app.config["RATELIMIT_AUTH"].split()[0])
        codes = [login(client, "nobody@example.com", "wrong-password").status_code for _ in range(15)]
        assert codes == [401] * limit + [429] * (15 - limit)

        _next_second()
        _restart_empty(private_redis, app)
        # Tokens from before the restart are refused once (the epoch); clients refresh and carry on.
        assert client.get("/api/auth/me", headers=bearer(session["access_token"])).status_code == 401
        assert client.get("/api/auth/me", headers=bearer(doomed["access_token"])).status_code == 401
        assert client.get("/api/auth/me", headers=victim_headers).status_code == 403
        renewed = client.post("/api/auth/refresh", headers=bearer(session["refresh_token"]))
        assert renewed.status_code == 200
        assert (
            client.get("/api/auth/me", headers=bearer(renewed.get_json()["access_token"])).status_code == 200
        )
        # The cache fills again and the limiter returns to Redis, without restarting the app.
        assert client.get("/api/courses").status_code == 200
        assert private_redis.client().keys("catalog*")
        _wait_until(
            lambda: (
                client.get("/api/courses").status_code == 200
                and bool(private_redis.client().keys("LIMITS:*"))
            ),
            "the limiter writing to Redis again",
        )


def test_hung_redis_costs_one_connection_then_requests_skip_it(restore_limiter, student, instructor):
    from web.app import create_app

    make_course(instructor)
    cache_server, limit_server = HungServer(), HungServer()
    try:
        app = create_app(
            {
                "REDIS_URL": cache_server.url,
                "RATELIMIT_STORAGE_URI": limit_server.url,
                "REDIS_SOCKET_TIMEOUT": 0.2,
                "REDIS_CONNECT_TIMEOUT": 0.2,
                "REDIS_BREAKER_SECONDS": 300,
            }
        )
        client = app.test_client()
        with app.app_context():
            from common.accounts import tokens

            headers = bearer(tokens.issue_tokens(student)["access_token"])
            for _ in range(20):
                assert client.get("/api/courses").status_code == 200
                assert client.get("/api/auth/me", headers=headers).status_code == 200
            # One timed-out attempt opened the breaker; every later cache call skipped Redis.
            assert cache_server.connections == 1
            # The limiter gave up on its store after one attempt too (it re-probes with backoff).
            assert 1 <= limit_server.connections <= 3
            limit = int(app.config["RATELIMIT_AUTH"].split()[0])
            codes = [
                login(client, "nobody@example.com", "wrong-password").status_code for _ in range(limit + 2)
            ]
            assert codes[-1] == 429 and codes.count(401) == limit
    finally:
        cache_server.close()
        limit_server.close()
