"""When Redis is unreachable, token checks fail closed (503) and readiness says so."""
from __future__ import annotations

import pytest

from tests.factories import auth_headers


@pytest.fixture
def app_without_redis(test_env, monkeypatch):
    from web.app import create_app

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    # The limiter is one extension shared by every app: keep its counters in the working Redis.
    from tests.conftest import TEST_REDIS_URL

    return create_app({"RATELIMIT_STORAGE_URI": TEST_REDIS_URL})


def test_token_check_fails_closed_when_redis_is_down(app_without_redis, student):
    headers = auth_headers(student)  # minted on the healthy app
    with app_without_redis.app_context():
        response = app_without_redis.test_client().get("/api/auth/me", headers=headers)
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == 503 and "unavailable" in body["message"].lower()


def test_readiness_reports_the_failing_dependency(app_without_redis):
    with app_without_redis.app_context():
        response = app_without_redis.test_client().get("/api/health/ready")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "ok"
    # Which dependency is down, never why: no exception names for anonymous callers.
    assert checks == {"database": "ok", "cache": "unavailable", "broker": "unavailable"}


def test_logout_fails_closed_when_redis_is_down(app_without_redis, student, app):
    from common.accounts import tokens as token_service

    with app.app_context():
        pair = token_service.issue_tokens(student)
    client = app_without_redis.test_client()
    with app_without_redis.app_context():
        response = client.post("/api/auth/logout", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert response.status_code == 503
