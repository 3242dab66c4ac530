"""401 answers carry an RFC 6750 `WWW-Authenticate: Bearer` challenge and no token-decoder internals."""

from __future__ import annotations

from datetime import timedelta

from flask_jwt_extended import create_access_token

from tests.factories import PASSWORD, auth_headers, make_user

DECODER_WORDS = ("Signature", "segments", "Header", "decode", "Bad Authorization", "padding", "Subject")


def _assert_challenge(response, error: str | None):
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    if error:
        assert f'error="{error}"' in challenge
    else:
        assert "error=" not in challenge
    body = response.get_json()
    assert body["code"] == 401 and body["status"] == "Unauthorized"
    assert not any(word in body["message"] for word in DECODER_WORDS), body["message"]


def test_missing_token(client):
    _assert_challenge(client.get("/api/auth/me"), None)


def test_malformed_and_forged_tokens(client, app):
    _assert_challenge(client.get("/api/auth/me", headers={"Authorization": "Bearer abc"}), "invalid_token")
    _assert_challenge(client.get("/api/auth/me", headers={"Authorization": "Basic abc"}), None)
    with app.app_context():
        forged = create_access_token("1", additional_claims={"role": "admin"})
    tampered = forged[:-4] + ("AAAA" if not forged.endswith("AAAA") else "BBBB")
    _assert_challenge(
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {tampered}"}), "invalid_token"
    )


def test_expired_token(client, app):
    user = make_user()
    with app.app_context():
        token = create_access_token(str(user.id), expires_delta=timedelta(seconds=-60))
    _assert_challenge(
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}), "invalid_token"
    )


def test_revoked_token(client):
    headers = auth_headers(make_user())
    assert client.post("/api/auth/logout", headers=headers).status_code == 200
    _assert_challenge(client.get("/api/auth/me", headers=headers), "invalid_token")


def test_bad_credentials_are_a_bearer_challenge_too(client):
    user = make_user()
    response = client.post("/api/auth/login", json={"email": user.email, "password": "wrong-password"})
    _assert_challenge(response, None)


def test_a_refresh_token_where_an_access_token_is_needed(client):
    user = make_user()
    login = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    refresh = login.get_json()["refresh_token"]
    _assert_challenge(
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {refresh}"}), "invalid_token"
    )


def test_a_browser_front_end_may_read_the_challenge(client, app):
    origin = app.config["CORS_ORIGINS"][0]
    response = client.get("/api/auth/me", headers={"Origin": origin})
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]
