"""Google sign-in end to end against the project's own OpenID stand-in (discovery, code, id_token)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

from common.accounts.models import User
from common.db import db
from standins.google import create_app as create_google
from standins.server import BackgroundServer
from tests.factories import make_user


@pytest.fixture(scope="module")
def google():
    with BackgroundServer(create_google("http://placeholder")) as server:
        # The issuer must equal the server's own URL: rebuild the app now that the port is known.
        server.server.app = create_google(server.url, client_id="test-client", client_secret="test-secret")
        yield server


@pytest.fixture
def google_app(app, google):
    saved = {k: app.config[k] for k in ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GOOGLE_DISCOVERY_URL")}
    app.config.update(
        GOOGLE_CLIENT_ID="test-client",
        GOOGLE_CLIENT_SECRET="test-secret",
        GOOGLE_DISCOVERY_URL=f"{google.url}/.well-known/openid-configuration",
    )
    app.extensions.pop("authlib.integrations.flask_client", None)
    yield app
    app.config.update(saved)
    app.extensions.pop("authlib.integrations.flask_client", None)


def sign_in(client, **identity):
    start = client.get("/api/auth/oauth/google/login")
    assert start.status_code == 302
    location = start.headers["Location"]
    query = parse_qs(urlparse(location).query)
    assert query["client_id"] == ["test-client"] and "openid" in query["scope"][0]
    assert query["state"] and query["nonce"]
    consent = requests.get(location + "&" + urlencode(identity), allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    callback = urlparse(consent.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_new_google_user_becomes_student(google_app):
    client = google_app.test_client()
    response = sign_in(client, sub="g-1", email="New.Learner@Example.com", name="New Learner")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["user"]["email"] == "new.learner@example.com" and body["user"]["role"] == "student"
    user = db.session.execute(db.select(User).filter_by(google_sub="g-1")).scalar_one()
    assert user.password_hash is None and user.email_verified
    assert (
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code
        == 200
    )
    # Signing in again finds the same account.
    again = sign_in(google_app.test_client(), sub="g-1", email="new.learner@example.com")
    assert again.get_json()["user"]["id"] == user.id


def test_links_existing_student_account_by_verified_email(google_app):
    existing = make_user("student", email="learner@example.com")
    response = sign_in(google_app.test_client(), sub="g-2", email="learner@example.com")
    assert response.status_code == 200
    assert response.get_json()["user"]["id"] == existing.id
    db.session.refresh(existing)
    assert existing.google_sub == "g-2" and existing.role == "student"


@pytest.mark.parametrize("role", ["instructor", "admin"])
def test_never_links_an_instructor_or_admin_account(google_app, role):
    existing = make_user(role, email=f"{role}@example.com")
    response = sign_in(google_app.test_client(), sub=f"g-{role}", email=f"{role}@example.com")
    assert response.status_code == 403 and "password" in response.get_json()["message"]
    assert "access_token" not in response.get_json()
    db.session.refresh(existing)
    assert existing.google_sub is None
    assert db.session.execute(db.select(User).filter_by(google_sub=f"g-{role}")).first() is None


def test_unverified_email_does_not_link(google_app):
    make_user("student", email="victim@example.com")
    response = sign_in(
        google_app.test_client(), sub="g-3", email="victim@example.com", email_verified="false"
    )
    assert response.status_code == 403
    assert db.session.execute(db.select(User).filter_by(google_sub="g-3")).first() is None


def test_suspended_account_cannot_sign_in(google_app):
    make_user("student", email="banned@example.com", status="suspended")
    response = sign_in(google_app.test_client(), sub="g-4", email="banned@example.com")
    assert response.status_code == 403


def test_tampered_id_token_is_refused(google_app):
    response = sign_in(google_app.test_client(), sub="g-5", email="x@example.com", tamper="1")
    assert response.status_code == 401
    assert db.session.execute(db.select(User).filter_by(email="x@example.com")).first() is None


def test_callback_without_login_state_is_refused(google_app):
    response = google_app.test_client().get("/api/auth/oauth/google/callback?code=abc&state=forged")
    assert response.status_code == 401


def test_not_configured_is_503(app):
    app.extensions.pop("authlib.integrations.flask_client", None)
    saved = app.config["GOOGLE_CLIENT_ID"]
    app.config["GOOGLE_CLIENT_ID"] = ""
    try:
        response = app.test_client().get("/api/auth/oauth/google/login")
        assert response.status_code == 503
    finally:
        app.config["GOOGLE_CLIENT_ID"] = saved


def test_provider_unreachable_is_503(app):
    app.extensions.pop("authlib.integrations.flask_client", None)
    saved = dict(app.config)
    app.config.update(
        GOOGLE_CLIENT_ID="c",
        GOOGLE_CLIENT_SECRET="s",
        GOOGLE_DISCOVERY_URL="http://127.0.0.1:9/.well-known/openid-configuration",
    )
    try:
        assert app.test_client().get("/api/auth/oauth/google/login").status_code == 503
    finally:
        app.config.update(saved)
        app.extensions.pop("authlib.integrations.flask_client", None)


def test_standin_refuses_bad_clients(google):
    base = google.url
    assert requests.get(f"{base}/o/oauth2/v2/auth?client_id=nope", timeout=5).status_code == 401
    assert (
        requests.post(f"{base}/token", data={"client_id": "x", "client_secret": "y"}, timeout=5).status_code
        == 401
    )
    bad_grant = requests.post(
        f"{base}/token",
        auth=("test-client", "test-secret"),
        data={"grant_type": "authorization_code", "code": "nope"},
        timeout=5,
    )
    assert bad_grant.status_code == 400
    assert (
        requests.get(f"{base}/v1/userinfo", headers={"Authorization": "Bearer x"}, timeout=5).status_code
        == 401
    )
