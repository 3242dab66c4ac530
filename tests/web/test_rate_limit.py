"""Rate limits live in Redis: strict on auth routes, shared by every app instance, 429 + Retry-After."""

from __future__ import annotations

from web.app import create_app


def _login(client):
    return client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "wrong-password"})


def test_login_limit_is_shared_across_two_app_instances(app):
    limit = int(app.config["RATELIMIT_AUTH"].split()[0])
    first, second = app.test_client(), create_app().test_client()
    codes = [_login(first if i % 2 else second).status_code for i in range(limit)]
    assert codes == [401] * limit
    blocked = _login(first)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    body = blocked.get_json()
    assert body["code"] == 429 and body["status"] == "Too Many Requests"
    assert _login(second).status_code == 429


def test_limits_are_per_route_group(app, student):
    limit = int(app.config["RATELIMIT_AUTH"].split()[0])
    client = app.test_client()
    for _ in range(limit + 1):
        _login(client)
    # Other routes keep working under the global default.
    assert client.get("/api/health/ready").status_code == 200
    from tests.factories import auth_headers

    assert client.get("/api/auth/me", headers=auth_headers(student)).status_code == 200


def test_retry_after_falls_back_to_the_window_length(app):
    from web.errors import handle_http_exception
    from web.ratelimit import RateLimitExceeded, parse

    client = app.test_client()
    for _ in range(int(app.config["RATELIMIT_AUTH"].split()[0]) + 1):
        blocked = _login(client)
    # A real 429: its Retry-After comes from the stored window, at most the window's length.
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert not any(name.startswith("X-RateLimit") for name in blocked.headers.keys())
    limit = parse(app.config["RATELIMIT_DEFAULT"])[0]
    with app.test_request_context("/api/courses"):
        # The store could not say when the window ends: only the breached limit's window is known.
        response = handle_http_exception(RateLimitExceeded(limit))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(limit.get_expiry())


def test_limit_store_down_counts_in_memory_or_serves_when_the_fallback_is_off(app):
    dead_store = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0", "RATELIMIT_AUTH": "2 per minute"}
    with_fallback = create_app(dead_store).test_client()
    assert [_login(with_fallback).status_code for _ in range(4)] == [401, 401, 429, 429]
    without = create_app({**dead_store, "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False}).test_client()
    assert [_login(without).status_code for _ in range(4)] == [401] * 4
