"""Credential routes and offline verification: a verifier holding only what we publish (the JWKS and
the status list) checks our credentials without our database, and each forgery fails for its reason."""

from __future__ import annotations

import base64
import json
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import event, select

from common.admin.models import AuditLog
from common.credentials import keys
from common.credentials import service as credentials
from common.credentials.models import Credential
from common.credentials.verify import CredentialInvalid, verify_credential, verify_jwt
from common.db import db, utcnow
from common.gamification.service import grant_badge
from tests.factories import auth_headers, make_certificate, make_course, make_user

BASE = "http://testserver.local"


@pytest.fixture
def course(instructor):
    return make_course(instructor, title="Data Engineering")


@contextmanager
def no_database():
    """Fails the test if any SQL runs inside: the verifier must need nothing of ours but HTTP documents."""
    statements = []

    def record(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert statements == []


def published(client) -> tuple[dict, str]:
    """What a verifier downloads: the JWKS and the status list (a VC-JWT)."""
    jwks = client.get("/.well-known/jwks.json").get_json()
    status = client.get("/api/credentials/status/1")
    assert status.mimetype == "application/vc+jwt"
    return jwks, status.get_data(as_text=True)


def verify_offline(token: str, jwks: dict, status_jwt: str) -> dict:
    def fetch(url):
        assert url == f"{BASE}/api/credentials/status/1"
        return status_jwt

    with no_database():
        return verify_credential(token, jwks, fetch)


def _issue(client, user, certificate) -> dict:
    resp = client.get(f"/api/certificates/{certificate.id}/credential", headers=auth_headers(user))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


# ---- routes ---------------------------------------------------------------------------------------
def test_owner_and_admin_get_the_credential_others_do_not(client, student, admin, course):
    certificate = make_certificate(student, course)
    body = _issue(client, student, certificate)
    assert body["media_type"] == "application/vc+jwt" and body["id"].startswith("urn:uuid:")
    assert jwt.get_unverified_header(body["jwt"])["alg"] == "EdDSA"
    assert _issue(client, admin, certificate)["jwt"] == body["jwt"]
    raw = client.get(
        f"/api/certificates/{certificate.id}/credential",
        headers={**auth_headers(student), "Accept": "application/vc+jwt"},
    )
    assert raw.mimetype == "application/vc+jwt" and raw.get_data(as_text=True) == body["jwt"]
    assert raw.headers["Cache-Control"] == "private, no-store"
    other = client.get(f"/api/certificates/{certificate.id}/credential", headers=auth_headers(make_user()))
    assert other.status_code == 404
    assert client.get(f"/api/certificates/{certificate.id}/credential").status_code == 401
    unknown = client.get("/api/certificates/999999/credential", headers=auth_headers(admin))
    assert unknown.status_code == 404 and unknown.get_json()["message"] == "Certificate 999999 not found"
    assert db.session.query(Credential).count() == 1  # refusals issue nothing


def test_badge_credential_for_an_earned_badge_only(client, student):
    grant_badge(user_id=student.id, code="first-lesson")
    db.session.commit()
    resp = client.get("/api/me/badges/first-lesson/credential", headers=auth_headers(student))
    assert resp.status_code == 200
    assert resp.get_json()["credential"]["credentialSubject"]["achievement"]["achievementType"] == "Badge"
    for code in ("first-quiz", "no-such-badge"):
        missing = client.get(f"/api/me/badges/{code}/credential", headers=auth_headers(student))
        assert missing.status_code == 404 and missing.get_json()["code"] == 404
    assert client.get("/api/me/badges/first-lesson/credential").status_code == 401
    assert db.session.query(Credential).count() == 1


def test_verify_page_returns_the_credential_and_the_certificate_a_linkedin_link(client, student, course):
    certificate = make_certificate(student, course)
    page = client.get(f"/api/certificates/verify/{certificate.verification_code}").get_json()
    assert page["valid"] is True and page["credential"]["credential"]["name"] == "Data Engineering"
    mine = client.get(f"/api/certificates/{certificate.id}", headers=auth_headers(student)).get_json()
    assert mine["credential_url"] == f"{BASE}/api/certificates/{certificate.id}/credential"
    link = urlsplit(mine["linkedin_add_url"])
    assert (link.scheme, link.netloc, link.path) == ("https", "www.linkedin.com", "/profile/add")
    assert {k: v[0] for k, v in parse_qs(link.query).items()} == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Data Engineering",
        "organizationName": "CourseHub",
        "issueYear": str(certificate.issue_date.year),
        "issueMonth": str(certificate.issue_date.month),
        "certUrl": f"{BASE}/api/certificates/verify/{certificate.verification_code}",
        "certId": certificate.verification_code,
    }
    assert client.get("/api/certificates/verify/nope").status_code == 404


def test_well_known_documents_are_public_and_agree(client):
    jwks = client.get("/.well-known/jwks.json")
    did = client.get("/.well-known/did.json")
    for resp in (jwks, did):
        assert resp.status_code == 200 and resp.headers["Access-Control-Allow-Origin"] == "*"
        assert resp.headers["Cache-Control"] == "public, max-age=300"
    key = jwks.get_json()["keys"][0]
    assert "d" not in key and key["kid"].startswith("did:web:testserver.local#")
    document = did.get_json()
    assert document["id"] == "did:web:testserver.local"
    assert document["verificationMethod"][0]["id"] == key["kid"]
    assert document["verificationMethod"][0]["publicKeyJwk"]["x"] == key["x"]


def test_status_list_is_a_signed_credential(client):
    jwks, status_jwt = published(client)
    status = verify_jwt(status_jwt, jwks)
    assert status["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert status["credentialSubject"]["statusPurpose"] == "revocation"
    as_json = client.get("/api/credentials/status/1", headers={"Accept": "application/json"})
    assert (
        as_json.mimetype == "application/json"
        and as_json.get_json()["id"] == f"{BASE}/api/credentials/status/1"
    )
    assert client.get("/api/credentials/status/2").status_code == 404


def test_admin_revokes_a_certificate_once(client, admin, student, course):
    certificate = make_certificate(student, course)
    _issue(client, student, certificate)
    url = f"/api/admin/certificates/{certificate.id}/revoke"
    assert client.post(url, json={"reason": "x"}, headers=auth_headers(student)).status_code == 403
    bad = client.post(url, json={}, headers=auth_headers(admin))
    assert bad.status_code == 422 and "reason" in bad.get_json()["errors"]["json"]
    too_long = client.post(url, json={"reason": "x" * 501}, headers=auth_headers(admin))
    assert too_long.status_code == 422
    for blank in ("   ", "a\x00b"):
        assert client.post(url, json={"reason": blank}, headers=auth_headers(admin)).status_code == 422
    resp = client.post(url, json={"reason": "plagiarism"}, headers=auth_headers(admin))
    assert resp.status_code == 200 and resp.get_json()["valid"] is False
    assert client.post(url, json={"reason": "again"}, headers=auth_headers(admin)).status_code == 409
    missing = client.post(
        "/api/admin/certificates/999999/revoke", json={"reason": "x"}, headers=auth_headers(admin)
    )
    assert missing.status_code == 404
    entry = db.session.execute(select(AuditLog).where(AuditLog.action == "certificate.revoke")).scalar_one()
    assert (entry.actor_id, entry.object_id) == (admin.id, str(certificate.id))
    assert db.session.execute(select(Credential.revoked_at)).scalar_one() is not None


def test_revoked_before_any_credential_is_409(client, student, course):
    certificate = make_certificate(student, course, revoked=True)
    resp = client.get(f"/api/certificates/{certificate.id}/credential", headers=auth_headers(student))
    assert resp.status_code == 409 and db.session.query(Credential).count() == 0
    page = client.get(f"/api/certificates/verify/{certificate.verification_code}").get_json()
    assert page["valid"] is False and page["credential"] is None


# ---- offline verification -------------------------------------------------------------------------
def test_round_trip_with_the_published_jwks_only(client, student, course):
    body = _issue(client, student, make_certificate(student, course))
    jwks, status_jwt = published(client)
    verified = verify_offline(body["jwt"], jwks, status_jwt)
    assert (
        verified["id"] == body["id"]
        and verified["credentialSubject"] == body["credential"]["credentialSubject"]
    )
    assert (verified["iss"], verified["jti"]) == ("did:web:testserver.local", body["id"])


def _segments(token):
    return token.split(".")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_tampered_payload_fails_on_the_signature(client, student, course):
    body = _issue(client, student, make_certificate(student, course))
    jwks, status_jwt = published(client)
    header, payload, signature = _segments(body["jwt"])
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    with pytest.raises(CredentialInvalid) as failed:
        verify_offline(f"{header}.{_b64(claims)}.{signature}", jwks, status_jwt)
    assert failed.value.reason == "bad_signature"
    with pytest.raises(CredentialInvalid) as garbage:
        verify_offline("not.a.jwt", jwks, status_jwt)
    assert garbage.value.reason == "malformed"


def test_wrong_key_fails(client, student, course):
    body = _issue(client, student, make_certificate(student, course))
    jwks, status_jwt = published(client)
    claims = jwt.decode(body["jwt"], options={"verify_signature": False})
    forger = keys.load_private_key(keys.generate_pem())
    kid = jwt.get_unverified_header(body["jwt"])["kid"]
    forged = jwt.encode(claims, forger, algorithm="EdDSA", headers={"kid": kid, "typ": "JWT"})
    with pytest.raises(CredentialInvalid) as failed:
        verify_offline(forged, jwks, status_jwt)
    assert failed.value.reason == "bad_signature"
    unknown = jwt.encode(claims, forger, algorithm="EdDSA", headers={"kid": "did:web:evil.example#k"})
    with pytest.raises(CredentialInvalid) as failed:
        verify_offline(unknown, jwks, status_jwt)
    assert failed.value.reason == "unknown_key"


def test_expired_credential_fails(client, student, course):
    body = _issue(client, student, make_certificate(student, course))
    jwks, status_jwt = published(client)
    past = utcnow() - timedelta(days=2)
    expired = {
        **body["credential"],
        "validFrom": (past - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validUntil": past.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    with pytest.raises(CredentialInvalid) as failed:
        verify_offline(credentials.sign(expired), jwks, status_jwt)
    assert failed.value.reason == "expired"
    future = {
        **body["credential"],
        "validFrom": (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    with pytest.raises(CredentialInvalid) as failed:
        verify_offline(credentials.sign(future), jwks, status_jwt)
    assert failed.value.reason == "not_yet_valid"
    mismatched = jwt.decode(body["jwt"], options={"verify_signature": False})
    mismatched["jti"] = "urn:uuid:someone-else"
    with pytest.raises(CredentialInvalid) as failed:
        verify_offline(
            jwt.encode(
                mismatched, keys.keyring().private_key, algorithm="EdDSA", headers={"kid": keys.keyring().kid}
            ),
            jwks,
            status_jwt,
        )
    assert failed.value.reason == "claims_mismatch"


def test_revoked_credential_fails_once_the_list_says_so(client, admin, student, course):
    certificate = make_certificate(student, course)
    body = _issue(client, student, certificate)
    jwks, before = published(client)
    assert verify_offline(body["jwt"], jwks, before)
    client.post(
        f"/api/admin/certificates/{certificate.id}/revoke",
        json={"reason": "fraud"},
        headers=auth_headers(admin),
    )
    jwks, after = published(client)
    with pytest.raises(CredentialInvalid) as failed:
        verify_offline(body["jwt"], jwks, after)
    assert failed.value.reason == "revoked"

    def unreachable(url):
        raise ConnectionError("offline")

    with pytest.raises(CredentialInvalid) as failed:
        verify_credential(body["jwt"], jwks, unreachable)
    assert failed.value.reason == "status_unavailable"


def test_key_rotation_keeps_old_credentials_valid(app, client, student, course, monkeypatch):
    old_token = _issue(client, student, make_certificate(student, course))["jwt"]
    old_ring = keys.keyring()
    old_public = keys.public_jwk(old_ring.private_key.public_key())
    # Rotate: a new signing key, the old public key kept in CREDENTIAL_PREVIOUS_PUBLIC_KEYS.
    new_pem = keys.generate_pem()
    monkeypatch.setitem(
        app.extensions,
        "credential_keyring",
        keys.KeyRing(
            keys.load_private_key(new_pem), keys.parse_previous_keys(json.dumps([old_public])), BASE
        ),
    )
    jwks, status_jwt = published(client)
    assert [k["kid"] for k in jwks["keys"]] == [keys.keyring().kid, old_ring.kid]
    assert verify_offline(old_token, jwks, status_jwt)  # signed by the retired key
    new_token = _issue(client, student, make_certificate(student, make_course(make_user("instructor"))))[
        "jwt"
    ]
    assert jwt.get_unverified_header(new_token)["kid"] == keys.keyring().kid != old_ring.kid
    assert verify_offline(new_token, jwks, status_jwt)
    # Dropping the retired key from the published set would orphan the old credentials.
    with pytest.raises(CredentialInvalid) as failed:
        verify_offline(old_token, {"keys": jwks["keys"][:1]}, status_jwt)
    assert failed.value.reason == "unknown_key"
