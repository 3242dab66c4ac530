"""Tokens whose signature was checked are remembered per app until they expire (web/extensions.py):
nothing a check refuses gets through because a token was seen before."""

from __future__ import annotations

import time
from datetime import timedelta

from flask_jwt_extended import create_access_token

from tests.factories import auth_headers
from web import extensions
from web.app import create_app


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _short_lived(student, seconds: float) -> str:
    return create_access_token(
        identity=str(student.id),
        expires_delta=timedelta(seconds=seconds),
        additional_claims={"role": "student", "tv": student.token_version},
    )


def test_a_remembered_token_still_expires(client, app, student):
    token = _short_lived(student, 2)
    assert client.get("/api/auth/me", headers=_bearer(token)).status_code == 200
    assert token in app.extensions["jwt_verified_tokens"]
    time.sleep(2.1)
    expired = client.get("/api/auth/me", headers=_bearer(token))
    assert expired.status_code == 401 and "expired" in expired.get_json()["message"].lower()


def test_another_apps_verdict_does_not_count(client, student):
    token = auth_headers(student)
    assert client.get("/api/auth/me", headers=token).status_code == 200
    other = create_app({"JWT_SECRET_KEY": "a-different-secret-that-is-long-enough-0123456789"})
    assert other.test_client().get("/api/auth/me", headers=token).status_code == 401


def test_a_tampered_copy_of_a_remembered_token_is_refused(client, student):
    token = auth_headers(student)["Authorization"].split()[1]
    assert client.get("/api/auth/me", headers=_bearer(token)).status_code == 200
    head, body, signature = token.split(".")
    forged = ".".join([head, body, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    assert client.get("/api/auth/me", headers=_bearer(forged)).status_code == 401


def test_suspension_acts_on_a_remembered_token(client, app, student, admin):
    headers = auth_headers(student)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    suspended = client.post(
        f"/api/admin/users/{student.id}/suspend", json={"reason": "Spam"}, headers=auth_headers(admin)
    )
    assert suspended.status_code == 200
    assert client.get("/api/auth/me", headers=headers).status_code == 403  # the suspended account's answer


def test_the_memory_is_bounded(client, app, student, monkeypatch):
    monkeypatch.setattr(extensions, "VERIFIED_TOKENS_MAX", 2)
    app.extensions["jwt_verified_tokens"].clear()
    for _ in range(3):
        assert client.get("/api/auth/me", headers=_bearer(_short_lived(student, 60))).status_code == 200
    assert len(app.extensions["jwt_verified_tokens"]) == 1  # full at the third: started over
