"""Google sign-in for a single-page app: callback → front end with a one-time code → exchange for tokens."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

from common.accounts.models import User
from common.cache import RedisCache
from common.db import db
from tests.concurrency import run_together
from tests.factories import make_user
from tests.web.test_oauth_google import google, google_app  # noqa: F401  (fixtures)

SPA = "http://localhost:3000/auth/callback"
OTHER = "https://app.example.com/signed-in?from=google"


@pytest.fixture
def spa_app(google_app):
    saved = google_app.config["FRONTEND_URL"]
    google_app.config["FRONTEND_URL"] = [SPA, OTHER]
    yield google_app
    google_app.config["FRONTEND_URL"] = saved


def sign_in_from(client, return_to=None, **identity):
    """The browser's round trip through the Google stand-in; answers the callback's response."""
    start = client.get(
        "/api/auth/oauth/google/login", query_string={"return_to": return_to} if return_to else {}
    )
    assert start.status_code == 302, start.get_json()
    consent = requests.get(
        start.headers["Location"] + "&" + urlencode(identity), allow_redirects=False, timeout=5
    )
    assert consent.status_code == 302
    callback = urlparse(consent.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def exchange(client, code):
    return client.post("/api/auth/oauth/exchange", json={"code": code})


def redirect_params(response, base=SPA):
    assert response.status_code == 302, response.get_json()
    location = response.headers["Location"]
    assert location.startswith(base.split("?")[0]), location
    assert response.headers["Cache-Control"] == "no-store"
    return parse_qs(urlparse(location).query)


def test_spa_sign_in_end_to_end(spa_app):
    client = spa_app.test_client()
    params = redirect_params(sign_in_from(client, sub="g-spa", email="spa@example.com", name="Spa User"))
    assert set(params) == {"code"}
    code = params["code"][0]
    body = exchange(spa_app.test_client(), code)
    assert body.status_code == 200, body.get_json()
    tokens = body.get_json()
    assert tokens["user"]["email"] == "spa@example.com" and tokens["user"]["role"] == "student"
    assert tokens["token_type"] == "Bearer"
    api = spa_app.test_client()
    me = api.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.get_json()["email"] == "spa@example.com"
    assert (
        api.post(
            "/api/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
        ).status_code
        == 200
    )
    user = db.session.execute(db.select(User).filter_by(google_sub="g-spa")).scalar_one()
    assert user.id == tokens["user"]["id"]
    # Once only.
    again = exchange(api, code)
    assert again.status_code == 401 and again.get_json()["code"] == 401


def test_code_is_stored_hashed_with_a_ttl(spa_app):
    params = redirect_params(sign_in_from(spa_app.test_client(), sub="g-hash", email="hash@example.com"))
    code = params["code"][0]
    redis = spa_app.extensions["cache"].client
    keys = [k.decode() for k in redis.keys("auth:oc:*")]
    assert keys == ["auth:oc:" + hashlib.sha256(code.encode()).hexdigest()]
    assert code not in keys[0]
    assert 0 < redis.ttl(keys[0]) <= spa_app.config["OAUTH_CODE_TTL_SECONDS"]
    assert exchange(spa_app.test_client(), code).status_code == 200
    assert redis.keys("auth:oc:*") == []


def test_return_to_picks_another_allowed_front_end(spa_app):
    response = sign_in_from(spa_app.test_client(), return_to=OTHER, sub="g-other", email="other@example.com")
    params = redirect_params(response, base=OTHER)
    assert params["from"] == ["google"] and len(params["code"]) == 1
    assert exchange(spa_app.test_client(), params["code"][0]).status_code == 200


def test_return_to_outside_the_allow_list_is_refused(spa_app):
    for target in ("https://evil.example.com/steal", SPA + "/../x", "javascript:alert(1)"):
        response = spa_app.test_client().get(
            "/api/auth/oauth/google/login", query_string={"return_to": target}
        )
        assert response.status_code == 400, target
        assert "Location" not in response.headers and response.get_json()["code"] == 400


def test_refused_sign_in_comes_back_as_an_error_without_code(spa_app):
    make_user("student", email="victim@example.com")
    params = redirect_params(
        sign_in_from(spa_app.test_client(), sub="g-unv", email="victim@example.com", email_verified="false")
    )
    assert params["error"] == ["access_denied"] and "code" not in params
    tampered = redirect_params(
        sign_in_from(spa_app.test_client(), sub="g-t", email="t@example.com", tamper="1")
    )
    assert tampered["error"] == ["sign_in_failed"] and "code" not in tampered
    assert db.session.execute(db.select(User).filter_by(email="t@example.com")).first() is None


def test_unknown_or_malformed_codes(spa_app):
    client = spa_app.test_client()
    assert exchange(client, "not-a-code").status_code == 401
    missing = client.post("/api/auth/oauth/exchange", json={})
    assert missing.status_code == 422 and "code" in missing.get_json()["errors"]["json"]
    assert exchange(client, "x" * 201).status_code == 422


def test_suspended_after_the_redirect_cannot_exchange(spa_app):
    params = redirect_params(sign_in_from(spa_app.test_client(), sub="g-sus", email="sus@example.com"))
    user = db.session.execute(db.select(User).filter_by(google_sub="g-sus")).scalar_one()
    user.status = "suspended"
    db.session.commit()
    assert exchange(spa_app.test_client(), params["code"][0]).status_code == 403


def test_concurrent_exchanges_of_one_code_yield_one_session(spa_app):
    code = redirect_params(sign_in_from(spa_app.test_client(), sub="g-race", email="race@example.com"))[
        "code"
    ][0]
    statuses = run_together(spa_app, [lambda: exchange(spa_app.test_client(), code).status_code] * 4)
    assert sorted(statuses) == [200, 401, 401, 401]


def test_exchange_fails_closed_when_the_store_is_down(spa_app):
    code = redirect_params(sign_in_from(spa_app.test_client(), sub="g-down", email="down@example.com"))[
        "code"
    ][0]
    saved = spa_app.extensions["cache"]
    spa_app.extensions["cache"] = RedisCache("redis://127.0.0.1:9/0")
    try:
        response = exchange(spa_app.test_client(), code)
    finally:
        spa_app.extensions["cache"] = saved
    assert response.status_code == 503 and response.get_json()["code"] == 503


def test_without_frontend_url_the_callback_still_answers_tokens(google_app):
    assert google_app.config["FRONTEND_URL"] == []
    response = sign_in_from(google_app.test_client(), sub="g-json", email="json@example.com")
    assert response.status_code == 200 and response.get_json()["access_token"]
    refused = google_app.test_client().get("/api/auth/oauth/google/login", query_string={"return_to": SPA})
    assert refused.status_code == 400


def test_store_down_at_the_callback_comes_back_as_temporarily_unavailable(spa_app):
    client = spa_app.test_client()
    start = client.get("/api/auth/oauth/google/login")
    consent = requests.get(
        start.headers["Location"] + "&" + urlencode({"sub": "g-nostore", "email": "n@example.com"}),
        allow_redirects=False,
        timeout=5,
    )
    callback = urlparse(consent.headers["Location"])
    saved = spa_app.extensions["cache"]
    spa_app.extensions["cache"] = RedisCache("redis://127.0.0.1:9/0")
    try:
        response = client.get(f"{callback.path}?{callback.query}")
    finally:
        spa_app.extensions["cache"] = saved
    params = redirect_params(response)
    assert params["error"] == ["temporarily_unavailable"] and "code" not in params
