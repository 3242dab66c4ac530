"""Cache-Control on token and authenticated answers, HSTS, X-Forwarded-Proto only through ProxyFix."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, auth_headers, make_course, make_user


def test_token_responses_are_no_store(client):
    make_user(email="c@example.com")
    login = client.post("/api/auth/login", json={"email": "c@example.com", "password": PASSWORD})
    assert login.status_code == 200 and "access_token" in login.get_json()
    assert login.headers["Cache-Control"] == "no-store" and login.headers["Pragma"] == "no-cache"
    register = client.post(
        "/api/auth/register", json={"email": "d@example.com", "password": PASSWORD, "name": "D"}
    )
    assert register.status_code == 201 and register.headers["Cache-Control"] == "no-store"
    refresh = client.post(
        "/api/auth/refresh", headers={"Authorization": f"Bearer {login.get_json()['refresh_token']}"}
    )
    assert refresh.status_code == 200 and refresh.headers["Cache-Control"] == "no-store"
    # Even a refused login: nothing under /api/auth is cacheable.
    bad = client.post("/api/auth/login", json={"email": "c@example.com", "password": "wrong password"})
    assert bad.status_code == 401 and bad.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/me/enrollments", "/api/courses", "/api/instructor/courses"])
def test_authenticated_json_is_private_no_store(client, path):
    user = make_user("instructor" if "instructor" in path else "student")
    response = client.get(path, headers=auth_headers(user))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"


def test_anonymous_public_reads_keep_no_cache_control(client):
    course = make_course(make_user("instructor"))
    for path in ("/api/courses", f"/api/courses/{course.id}", "/api/health"):
        assert "Cache-Control" not in client.get(path).headers


def test_a_routes_own_cache_control_is_kept(client):
    response = client.get("/api/docs/assets/swagger-ui.css")
    assert response.status_code == 200 and "max-age=86400" in response.headers["Cache-Control"]


@pytest.fixture
def https_app(app):
    """Build apps with FORCE_HTTPS; the Talisman instance is shared, so re-initialise it after."""
    from web.app import create_app

    yield lambda **config: create_app({"FORCE_HTTPS": True, **config})
    create_app()  # the environment's settings (FORCE_HTTPS off) on the shared extension again


def test_hsts_on_https_only_and_forwarded_proto_needs_proxy_fix(https_app):
    client = https_app().test_client()
    # Plain http with a forged X-Forwarded-Proto: redirected, no HSTS (the header is ignored).
    forged = client.get("/api/health", headers={"X-Forwarded-Proto": "https"})
    assert forged.status_code in (301, 302) and forged.headers["Location"].startswith("https://")
    secure = client.get("/api/health", base_url="https://localhost")
    assert secure.status_code == 200
    assert "max-age=" in secure.headers["Strict-Transport-Security"]


def test_forwarded_proto_through_proxy_fix(https_app):
    client = https_app(PROXY_FIX_HOPS=1).test_client()
    response = client.get(
        "/api/health", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    )
    assert response.status_code == 200 and "Strict-Transport-Security" in response.headers
