"""When Redis is unreachable, token checks answer from PostgreSQL (the truth) and readiness says so."""

from __future__ import annotations

import pytest

from tests.factories import auth_headers


@pytest.fixture
def app_without_redis(test_env, monkeypatch):
    from web.app import create_app

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    # Redis is down for the cache; the limit counters stay in the working Redis.
    from tests.conftest import TEST_REDIS_URL

    return create_app({"RATELIMIT_STORAGE_URI": TEST_REDIS_URL})


def test_token_checks_answer_from_postgresql_when_redis_is_down(app_without_redis, student, admin):
    from common.accounts.service import set_suspended

    headers = auth_headers(student)  # minted on the healthy app
    with app_without_redis.app_context():
        client = app_without_redis.test_client()
        response = client.get("/api/auth/me", headers=headers)
        assert response.status_code == 200 and response.get_json()["id"] == student.id
        # A suspension committed while Redis is down is seen at once (its publication is skipped).
        set_suspended(actor_id=admin.id, user_id=student.id, suspended=True)
        response = client.get("/api/auth/me", headers=headers)
    assert response.status_code == 403
    assert app_without_redis.extensions["cache"].auth_epoch_pending is True


def test_readiness_reports_the_failing_dependency(app_without_redis):
    with app_without_redis.app_context():
        response = app_without_redis.test_client().get("/api/health/ready")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "ok"
    # Which dependency is down, never why: no exception names for anonymous callers.
    assert checks == {"database": "ok", "cache": "unavailable", "broker": "unavailable"}


def test_logout_works_when_redis_is_down(app_without_redis, student, app):
    from common.accounts import tokens as token_service

    with app.app_context():
        pair = token_service.issue_tokens(student)
    client = app_without_redis.test_client()
    with app_without_redis.app_context():
        response = client.post(
            "/api/auth/logout", headers={"Authorization": f"Bearer {pair['access_token']}"}
        )
        assert response.status_code == 200
        # Recorded in PostgreSQL: both tokens are refused while Redis is down...
        assert (
            client.get(
                "/api/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
            ).status_code
            == 401
        )
        assert (
            client.post(
                "/api/auth/refresh", headers={"Authorization": f"Bearer {pair['refresh_token']}"}
            ).status_code
            == 401
        )
    # ...and Redis, when it answers again, first moves the epoch past every earlier access token.
    assert app_without_redis.extensions["cache"].auth_epoch_pending is True
