"""A web process trusts an access token Redis found valid for TOKEN_CHECK_CACHE_SECONDS: revocations
made in this process act at once, those made elsewhere within the bound, a Redis failure forgets all."""

from __future__ import annotations

import pytest

from common.accounts import tokens
from common.cache import cache
from tests.factories import auth_headers, make_user


def _jti(headers: dict) -> str:
    from flask_jwt_extended import decode_token

    return decode_token(headers["Authorization"].split()[1])["jti"]


def _revoke_elsewhere(app, headers: dict) -> None:
    """What another web process's logout leaves in Redis (this process is not told)."""
    with app.app_context():
        cache.set(tokens._blocklist_key(_jti(headers)), b"1", 60)


@pytest.fixture
def bound(app):
    saved = app.config["TOKEN_CHECK_CACHE_SECONDS"]
    yield lambda seconds: app.config.update(TOKEN_CHECK_CACHE_SECONDS=seconds)
    app.config["TOKEN_CHECK_CACHE_SECONDS"] = saved
    tokens.forget_recent_checks()


def test_a_revocation_elsewhere_acts_when_the_bound_has_passed(app, client, bound):
    bound(60)
    headers = auth_headers(make_user("student"))
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    _revoke_elsewhere(app, headers)
    # Within the bound this process still trusts what Redis told it moments ago...
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    # ... and once the bound has passed it asks Redis again.
    with app.app_context():
        tokens._recently_valid[_jti(headers)] = 0.0
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_with_no_bound_every_request_asks_redis(app, client, bound):
    bound(0)
    headers = auth_headers(make_user("student"))
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    _revoke_elsewhere(app, headers)
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_revocations_in_this_process_act_at_once(app, client, bound, admin):
    bound(60)
    from common.accounts.service import set_suspended

    student = make_user("student")
    headers = auth_headers(student)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    set_suspended(actor_id=admin.id, user_id=student.id, suspended=True)
    assert client.get("/api/auth/me", headers=headers).status_code == 403
    other = auth_headers(make_user("student"))
    assert client.get("/api/auth/me", headers=other).status_code == 200
    assert client.post("/api/auth/logout", headers=other).status_code == 200
    assert client.get("/api/auth/me", headers=other).status_code == 401


def test_a_redis_failure_forgets_every_trusted_token(app, client, bound, monkeypatch):
    from common.cache import CacheUnavailable

    bound(60)
    headers = auth_headers(make_user("student"))
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    with app.app_context():
        assert _jti(headers) in tokens._recently_valid

    def down(payload):
        raise CacheUnavailable("test: Redis down")

    monkeypatch.setattr(tokens, "_access_revoked_in_cache", down)
    other = auth_headers(make_user("student"))
    assert client.get("/api/auth/me", headers=other).status_code == 200  # answered from PostgreSQL
    assert tokens._recently_valid == {}
