"""Accounts and tokens: register, login, refresh rotation, logout, profile, suspension, roles."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token

from common.accounts.models import User
from common.accounts.passwords import verify_password
from common.db import db
from tests.factories import PASSWORD, auth_headers, make_user


def register(client, **overrides):
    body = {"email": "new@example.com", "password": "s3cret-pass", "name": "New Person", **overrides}
    return client.post("/api/auth/register", json=body)


def login(client, email, password=PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# --- register -----------------------------------------------------------------------------------


def test_register_creates_student_with_tokens(client):
    response = register(client, email="  New@Example.COM ")
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["email"] == "new@example.com"
    assert body["user"]["role"] == "student"
    assert body["user"]["xp_total"] == 0
    assert body["user"]["created_at"].endswith("Z")
    user = db.session.execute(db.select(User).filter_by(email="new@example.com")).scalar_one()
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "s3cret-pass")
    me = client.get("/api/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.get_json()["id"] == user.id


def test_register_instructor_allowed_admin_refused(client):
    assert register(client, role="instructor").get_json()["user"]["role"] == "instructor"
    response = register(client, email="x@example.com", role="admin")
    assert response.status_code == 422
    assert "role" in response.get_json()["errors"]["json"]
    assert db.session.execute(db.select(User).filter_by(email="x@example.com")).first() is None


def test_register_duplicate_email_is_409_case_insensitive(client):
    assert register(client).status_code == 201
    response = register(client, email="NEW@example.com")
    assert response.status_code == 409
    assert response.get_json() == {
        "code": 409,
        "status": "Conflict",
        "message": "An account with this email already exists",
    }


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"password": ""}, "password"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 10_000}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 121}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"password": 12345678}, "password"),
    ],
)
def test_register_bad_input_is_422(client, overrides, field):
    response = register(client, **overrides)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and field in body["errors"]["json"]


def test_register_unicode_password_and_name(client):
    response = register(client, password="pässwörd-日本語-🔑", name="Zoë 李")
    assert response.status_code == 201
    assert login(client, "new@example.com", "pässwörd-日本語-🔑").status_code == 200


def test_register_unknown_field_and_non_json(client):
    assert register(client, is_admin=True).status_code == 422
    response = client.post("/api/auth/register", data="not json", content_type="application/json")
    assert response.status_code == 400  # malformed JSON (the contract's 400), not a validation error
    assert response.get_json()["code"] == 400


# --- login ----------------------------------------------------------------------------------------


def test_login_returns_tokens_and_user(client, student):
    response = login(client, student.email.upper())
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= {"access_token", "refresh_token", "user"}
    assert body["user"]["id"] == student.id
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["role"] == "student" and claims["type"] == "access"
    db.session.refresh(student)
    assert student.last_login_at is not None


def test_login_wrong_password_and_unknown_email_look_the_same(client, student):
    wrong = login(client, student.email, "wrong password")
    unknown = login(client, "nobody@example.com", "wrong password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_login_suspended_is_403(client):
    user = make_user("student", status="suspended")
    response = login(client, user.email)
    assert response.status_code == 403
    assert "suspended" in response.get_json()["message"]


def test_login_oauth_only_account_cannot_use_password(client):
    user = make_user("student")
    user.password_hash = None
    db.session.commit()
    assert login(client, user.email, "anything at all").status_code == 401


# --- tokens ---------------------------------------------------------------------------------------


def test_missing_token_is_401(client):
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.get_json()["code"] == 401


def test_malformed_and_tampered_tokens_are_401(client, student):
    token = login(client, student.email).get_json()["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for bad in (f"{header}.{forged}.{signature}", "garbage", token[:-3] + "abc"):
        response = client.get("/api/auth/me", headers=bearer(bad))
        assert response.status_code == 401, bad


def test_alg_none_token_is_401(client, student):
    claims = pyjwt.decode(
        login(client, student.email).get_json()["access_token"], options={"verify_signature": False}
    )
    unsigned = pyjwt.encode(claims, key=None, algorithm="none")
    assert client.get("/api/auth/me", headers=bearer(unsigned)).status_code == 401


def test_token_signed_with_other_secret_is_401(client, student):
    claims = pyjwt.decode(
        login(client, student.email).get_json()["access_token"], options={"verify_signature": False}
    )
    other = pyjwt.encode(claims, key="another-secret-that-is-long-enough-1234", algorithm="HS256")
    assert client.get("/api/auth/me", headers=bearer(other)).status_code == 401


def test_expired_token_is_401(client, student):
    expired = create_access_token(
        identity=str(student.id),
        expires_delta=timedelta(seconds=-10),
        additional_claims={"role": "student", "tv": student.token_version},
    )
    response = client.get("/api/auth/me", headers=bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.get_json()["message"].lower()


def test_refresh_token_cannot_be_used_as_access_token(client, student):
    refresh = login(client, student.email).get_json()["refresh_token"]
    assert client.get("/api/auth/me", headers=bearer(refresh)).status_code == 401
    access = login(client, student.email).get_json()["access_token"]
    assert client.post("/api/auth/refresh", headers=bearer(access)).status_code == 401


def test_refresh_rotates_and_old_refresh_token_is_refused(client, student):
    first = login(client, student.email).get_json()
    rotated = client.post("/api/auth/refresh", headers=bearer(first["refresh_token"]))
    assert rotated.status_code == 200
    second = rotated.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/auth/me", headers=bearer(second["access_token"])).status_code == 200
    # The access token paired with the old refresh token is dead now.
    assert client.get("/api/auth/me", headers=bearer(first["access_token"])).status_code == 401
    # The new refresh token keeps working once (reusing a rotated one: tests/web/test_auth_families.py).
    third = client.post("/api/auth/refresh", headers=bearer(second["refresh_token"]))
    assert third.status_code == 200
    assert client.get("/api/auth/me", headers=bearer(third.get_json()["access_token"])).status_code == 200


def test_logout_revokes_access_and_refresh(client, student):
    tokens = login(client, student.email).get_json()
    response = client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert client.get("/api/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    # Other sessions of the same user are untouched.
    other = login(client, student.email).get_json()
    assert client.get("/api/auth/me", headers=bearer(other["access_token"])).status_code == 200


def test_logout_with_refresh_token_revokes_the_pair(client, student):
    tokens = login(client, student.email).get_json()
    assert client.post("/api/auth/logout/refresh", headers=bearer(tokens["refresh_token"])).status_code == 200
    assert client.get("/api/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_logout_needs_a_token(client):
    assert client.post("/api/auth/logout").status_code == 401


# --- profile --------------------------------------------------------------------------------------


def test_me_has_contract_fields(client, student):
    body = client.get("/api/auth/me", headers=auth_headers(student)).get_json()
    assert {"id", "email", "name", "role", "created_at", "xp_total"} <= set(body)
    assert "password_hash" not in body


def test_patch_me_changes_name(client, student):
    response = client.patch("/api/auth/me", json={"name": "  Renamed  "}, headers=auth_headers(student))
    assert response.status_code == 200
    assert response.get_json()["user"]["name"] == "Renamed"
    db.session.refresh(student)
    assert student.name == "Renamed"


def test_patch_me_password_needs_current_and_revokes_old_tokens(client, student):
    old = login(client, student.email).get_json()
    refused = client.patch(
        "/api/auth/me", json={"password": "brand-new-pass"}, headers=bearer(old["access_token"])
    )
    assert refused.status_code == 422
    wrong = client.patch(
        "/api/auth/me",
        json={"password": "brand-new-pass", "current_password": "nope-nope"},
        headers=bearer(old["access_token"]),
    )
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["errors"]["json"]
    ok = client.patch(
        "/api/auth/me",
        json={"password": "brand-new-pass", "current_password": PASSWORD},
        headers=bearer(old["access_token"]),
    )
    assert ok.status_code == 200
    fresh = ok.get_json()["access_token"]
    assert client.get("/api/auth/me", headers=bearer(old["access_token"])).status_code == 401
    assert client.post("/api/auth/refresh", headers=bearer(old["refresh_token"])).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(fresh)).status_code == 200
    assert login(client, student.email).status_code == 401
    assert login(client, student.email, "brand-new-pass").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"role": "admin"},
        {"email": "x@example.com"},
        {"status": "active"},
        {"xp_total": 9999},
        {},
        {"name": ""},
        {"password": "short", "current_password": PASSWORD},
    ],
)
def test_patch_me_rejects_privileged_or_bad_fields(client, student, body):
    response = client.patch("/api/auth/me", json=body, headers=auth_headers(student))
    assert response.status_code == 422
    db.session.refresh(student)
    assert student.role == "student" and student.xp_total == 0


def test_patch_me_anonymous_is_401(client):
    assert client.patch("/api/auth/me", json={"name": "x"}).status_code == 401


# --- suspension and roles -------------------------------------------------------------------------


def test_suspension_kills_existing_tokens_at_once(client, student, admin):
    from common.accounts.service import set_suspended

    tokens = login(client, student.email).get_json()
    assert client.get("/api/auth/me", headers=bearer(tokens["access_token"])).status_code == 200
    set_suspended(actor_id=admin.id, user_id=student.id, suspended=True, reason="spam")
    response = client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert response.status_code == 403
    assert "suspended" in response.get_json()["message"]
    assert client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 403
    assert login(client, student.email).status_code == 403
    # Reinstated: old tokens stay dead, a new login works.
    set_suspended(actor_id=admin.id, user_id=student.id, suspended=False)
    assert client.get("/api/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert login(client, student.email).status_code == 200


def test_suspension_is_seen_even_when_cache_entry_is_missing(client, student):
    from common.cache import cache

    headers = auth_headers(student)
    student.status = "suspended"
    db.session.commit()
    cache.flush()  # the token version is re-read from the database
    assert client.get("/api/auth/me", headers=headers).status_code == 403


def test_deleted_user_token_is_refused(client):
    user = make_user("student")
    headers = auth_headers(user)
    db.session.delete(user)
    db.session.commit()
    from common.cache import cache

    cache.flush()
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_promote_revokes_tokens_so_the_new_role_applies(client, student, admin):
    from common.accounts.service import promote

    headers = auth_headers(student)
    promote(actor_id=admin.id, user_id=student.id, role="instructor")
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    body = login(client, student.email).get_json()
    assert body["user"]["role"] == "instructor"


def test_admin_service_guards(admin, student):
    from common.accounts import service
    from common.admin.models import AuditLog
    from common.errors import Conflict, NotFound, ValidationError

    with pytest.raises(Conflict):
        service.set_suspended(actor_id=admin.id, user_id=admin.id, suspended=True)
    with pytest.raises(Conflict):
        service.promote(actor_id=admin.id, user_id=admin.id, role="student")
    with pytest.raises(ValidationError):
        service.promote(actor_id=admin.id, user_id=student.id, role="superuser")
    with pytest.raises(NotFound):
        service.set_suspended(actor_id=admin.id, user_id=999_999, suspended=True)
    service.set_suspended(actor_id=admin.id, user_id=student.id, suspended=True, reason="abuse")
    entry = db.session.execute(db.select(AuditLog)).scalar_one()
    assert (entry.actor_id, entry.action, entry.object_id, entry.detail) == (
        admin.id,
        "user.suspend",
        str(student.id),
        {"reason": "abuse"},
    )


def test_role_decorator_refuses_wrong_role(student, instructor, admin):
    from web.app import create_app
    from web.auth import auth_required

    other = create_app()

    @other.get("/api/_test/instructor-only")
    @auth_required("instructor")
    def _instructor_only():
        return {"ok": True}

    client = other.test_client()
    assert client.get("/api/_test/instructor-only").status_code == 401
    assert client.get("/api/_test/instructor-only", headers=auth_headers(student)).status_code == 403
    assert client.get("/api/_test/instructor-only", headers=auth_headers(instructor)).status_code == 200
    assert client.get("/api/_test/instructor-only", headers=auth_headers(admin)).status_code == 200


def test_create_admin_service_promotes_existing_account(student):
    from common.accounts.service import create_admin

    user = create_admin(email=student.email.upper(), password="admin-password-1")
    assert user.id == student.id and user.role == "admin"
    assert verify_password(user.password_hash, "admin-password-1")
