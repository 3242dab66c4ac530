"""Credential building blocks: keys and rotation settings, did:web, the status bitstring, issuance,
the OB 3.0 schema, the salted email hash, revocation on refund and reinstatement, the PDF line."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import stat
from pathlib import Path

import jsonschema
import pypdf
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from sqlalchemy import select

from common.certificates import service as certificates
from common.config import ConfigError, load_config
from common.credentials import keys, status_list
from common.credentials import service as credentials
from common.credentials.models import Credential
from common.db import db
from common.flows.refund import mark_refunded
from common.gamification.service import grant_badge
from common.learning.models import Enrollment
from common.payments.models import Payment
from tests.factories import enroll, make_certificate, make_course, make_user

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "ob_v3p0_achievementcredential_schema.json").read_text()
)


@pytest.fixture
def course(instructor):
    return make_course(instructor, title="Practical Python")


def _schema_errors(credential: dict) -> list[str]:
    validator = jsonschema.Draft201909Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(credential)]


# ---- keys ---------------------------------------------------------------------------------------
def test_did_web_encodes_the_port_and_ignores_the_path():
    assert keys.did_web("https://courses.example.com") == "did:web:courses.example.com"
    assert keys.did_web("http://127.0.0.1:5000/app") == "did:web:127.0.0.1%3A5000"


def test_thumbprint_is_rfc7638():
    # RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert keys.thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_embedded_key_is_generated_once_private_to_the_owner(tmp_path):
    first = keys._instance_key(str(tmp_path / "instance"))
    assert keys._instance_key(str(tmp_path / "instance")) == first
    path = tmp_path / "instance" / keys.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.load_private_key(first)


def test_signing_key_settings_are_checked_at_start_up():
    pem = keys.generate_pem()
    assert load_config(env={"CREDENTIAL_SIGNING_KEY": pem.replace("\n", "\\n")})["CREDENTIAL_SIGNING_KEY"]
    with pytest.raises(ConfigError, match="PKCS#8 PEM"):
        load_config(env={"CREDENTIAL_SIGNING_KEY": "not a key"})
    rsa = (
        generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    with pytest.raises(ConfigError, match="Ed25519"):
        load_config(env={"CREDENTIAL_SIGNING_KEY": rsa})
    with pytest.raises(ConfigError, match="must be JSON"):
        load_config(env={"CREDENTIAL_PREVIOUS_PUBLIC_KEYS": "{nope"})
    with pytest.raises(ConfigError, match="JWKS or a list"):
        load_config(env={"CREDENTIAL_PREVIOUS_PUBLIC_KEYS": '"a string"'})
    with pytest.raises(ConfigError, match="Ed25519 OKP"):
        load_config(env={"CREDENTIAL_PREVIOUS_PUBLIC_KEYS": '[{"kty": "RSA"}]'})
    private = {"kty": "OKP", "crv": "Ed25519", "x": "abc", "d": "secret"}
    with pytest.raises(ConfigError, match="public keys only"):
        load_config(env={"CREDENTIAL_PREVIOUS_PUBLIC_KEYS": json.dumps({"keys": [private]})})
    with pytest.raises(ConfigError, match="CREDENTIAL_SIGNING_KEY"):
        load_config(env={"APP_ENV": "production"})


def test_keyring_publishes_the_current_key_first_and_the_retired_ones_once():
    old = keys.public_jwk(keys.load_private_key(keys.generate_pem()).public_key())
    ring = keys.KeyRing(keys.load_private_key(keys.generate_pem()), [old, old], "https://c.example.com")
    kids = [k["kid"] for k in ring.jwks()["keys"]]
    assert kids[0] == ring.kid and len(kids) == 2 and kids[1] == keys.key_id(old, "https://c.example.com")
    assert all("d" not in k for k in ring.jwks()["keys"])
    document = ring.did_document()
    assert document["id"] == "did:web:c.example.com" and document["assertionMethod"] == kids
    assert [m["controller"] for m in document["verificationMethod"]] == [document["id"]] * 2


# ---- status list ---------------------------------------------------------------------------------
def test_status_bitstring_is_left_to_right_and_at_least_16kb():
    encoded = status_list.encode({0, 9, 200_000})
    assert encoded.startswith("u") and "=" not in encoded
    data = encoded[1:]
    raw = __import__("gzip").decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    assert raw[0] == 0x80 and raw[1] == 0x40 and len(raw) * 8 >= 200_001
    assert len(
        __import__("gzip").decompress(base64.urlsafe_b64decode(status_list.encode(set())[1:] + "=="))
    ) == (status_list.MIN_ENTRIES // 8)
    assert [status_list.is_set(encoded, i) for i in (0, 1, 8, 9, 200_000)] == [True, False, False, True, True]
    with pytest.raises(ValueError, match="outside"):
        status_list.is_set(status_list.encode(set()), status_list.MIN_ENTRIES)
    with pytest.raises(ValueError, match="multibase"):
        status_list.is_set("zabc", 0)


# ---- issuance --------------------------------------------------------------------------------------
def test_certificate_credential_is_an_ob3_credential_that_validates_against_the_schema(student, course):
    certificate = make_certificate(student, course)
    body = credentials.for_certificate(certificate_id=certificate.id, user_id=student.id, is_admin=False)
    credential = body["credential"]
    assert _schema_errors(credential) == []
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"] == {
        "id": "did:web:testserver.local",
        "type": ["Profile"],
        "name": "CourseHub",
        "url": "http://testserver.local",
    }
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "Certificate" and achievement["name"] == "Practical Python"
    assert achievement["id"] == f"http://testserver.local/api/courses/{course.id}"
    assert achievement["criteria"]["narrative"] and achievement["description"]
    assert credential["validFrom"] == certificate.issue_date.strftime("%Y-%m-%dT%H:%M:%SZ")
    row = db.session.execute(select(Credential)).scalar_one()
    assert credential["id"] == f"urn:uuid:{row.uuid}" and body["id"] == credential["id"]
    assert credential["credentialStatus"] == {
        "id": f"http://testserver.local/api/credentials/status/1#{row.id}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(row.id),
        "statusListCredential": "http://testserver.local/api/credentials/status/1",
    }
    # Asking again returns the same credential, byte for byte (Ed25519 signatures are deterministic).
    again = credentials.for_certificate(certificate_id=certificate.id, user_id=student.id, is_admin=False)
    assert again["jwt"] == body["jwt"] and db.session.query(Credential).count() == 1


def test_badge_credential_validates_against_the_schema(student):
    grant_badge(user_id=student.id, code="first-lesson")
    db.session.commit()
    credential = credentials.for_badge(user_id=student.id, code="first-lesson")["credential"]
    assert _schema_errors(credential) == []
    achievement = credential["credentialSubject"]["achievement"]
    assert (achievement["achievementType"], achievement["name"]) == ("Badge", "First lesson")
    assert achievement["id"] == "http://testserver.local/api/badges#first-lesson"


def test_the_schema_check_can_fail(student, course):
    credential = credentials.for_certificate(
        certificate_id=make_certificate(student, course).id, user_id=student.id, is_admin=True
    )["credential"]
    broken = {**credential, "type": ["VerifiableCredential"]}
    del broken["issuer"]
    errors = _schema_errors(broken)
    assert any("issuer" in e for e in errors) and any(e.startswith("type") for e in errors)


def test_learner_email_never_appears_in_clear_only_its_salted_hash():
    learner = make_user(email="Ada.Lovelace@Example.com")
    course = make_course(make_user("instructor"))
    certificate = make_certificate(learner, course)
    body = credentials.for_certificate(certificate_id=certificate.id, user_id=learner.id, is_admin=False)
    header, payload, _sig = body["jwt"].split(".")
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    for text in (json.dumps(body), decoded, body["jwt"]):
        assert "ada.lovelace" not in text.lower() and "example.com" not in text.lower()
    identity = body["credential"]["credentialSubject"]["identifier"][0]
    assert identity["hashed"] is True and identity["identityType"] == "emailAddress"
    assert len(identity["salt"]) == 32
    # Whoever knows the email can confirm it: sha256 over the normalised email followed by the salt.
    expected = hashlib.sha256(("ada.lovelace@example.com" + identity["salt"]).encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected}"
    # Salts are per credential: two credentials of one learner are not linkable by their hash.
    other = credentials.for_certificate(
        certificate_id=make_certificate(learner, make_course(make_user("instructor"))).id,
        user_id=learner.id,
        is_admin=False,
    )
    assert (
        other["credential"]["credentialSubject"]["identifier"][0]["identityHash"] != identity["identityHash"]
    )


def _paid_enrollment(user, course) -> Payment:
    payment = Payment(
        user_id=user.id,
        course_id=course.id,
        course_title=course.title,
        amount=49900,
        receipt=f"rcpt_cred_{user.id}",
        order_id=f"order_cred_{user.id}",
        payment_id=f"pay_cred_{user.id}",
        status="paid",
    )
    db.session.add(payment)
    db.session.commit()
    enrollment = enroll(user, course, source="payment")
    enrollment.payment_id = payment.id
    db.session.commit()
    return payment


def _revoked_bits() -> set[int]:
    subject = credentials.status_list_credential(list_id=1)["credential"]["credentialSubject"]
    return {i for i in range(1, 50) if status_list.is_set(subject["encodedList"], i)}


def test_refund_flips_the_credentials_status_bit(student, course):
    payment = _paid_enrollment(student, course)
    certificate = make_certificate(student, course)
    bystander = make_certificate(make_user(), course)
    mine = credentials.for_certificate(certificate_id=certificate.id, user_id=student.id, is_admin=False)
    credentials.for_certificate(certificate_id=bystander.id, user_id=0, is_admin=True)
    index = int(mine["credential"]["credentialStatus"]["statusListIndex"])
    assert _revoked_bits() == set()
    mark_refunded(payment.id, refund_id="rfnd_cred_1")
    assert db.session.get(Enrollment, 1).status == "revoked"
    assert _revoked_bits() == {index}
    # The revoked certificate keeps answering with its (now revoked) credential, never a new one.
    again = credentials.for_certificate(certificate_id=certificate.id, user_id=student.id, is_admin=False)
    assert again["id"] == mine["id"] and db.session.query(Credential).count() == 2


def test_earning_the_certificate_again_issues_a_new_credential(student, course):
    certificate = make_certificate(student, course)
    first = credentials.for_certificate(certificate_id=certificate.id, user_id=student.id, is_admin=False)
    certificates.revoke_for(user_id=student.id, course_id=course.id, reason="refunded")
    db.session.commit()
    certificates.request_certificate(user_id=student.id, course_id=course.id)  # completed again
    second = credentials.for_certificate(certificate_id=certificate.id, user_id=student.id, is_admin=False)
    assert second["id"] != first["id"]
    assert second["credential"]["validFrom"] >= first["credential"]["validFrom"]
    first_index = int(first["credential"]["credentialStatus"]["statusListIndex"])
    assert _revoked_bits() == {first_index}


def test_a_deleted_badge_award_counts_as_revoked(student):
    from common.gamification.models import UserBadge

    grant_badge(user_id=student.id, code="first-quiz")
    db.session.commit()
    index = int(
        credentials.for_badge(user_id=student.id, code="first-quiz")["credential"]["credentialStatus"][
            "statusListIndex"
        ]
    )
    db.session.execute(db.delete(UserBadge))
    db.session.commit()
    assert _revoked_bits() == {index}


def test_the_pdf_prints_the_credential_id_and_that_it_verifies_offline(student, course):
    certificate = make_certificate(student, course)
    rendered = certificates.render_certificate(certificate_id=certificate.id)
    row = db.session.execute(select(Credential)).scalar_one()
    from common.storage import get_storage

    pdf = get_storage().get(rendered.storage_key)
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    assert f"urn:uuid:{row.uuid}" in text.replace(" ", "") or f"urn:uuid:{row.uuid}" in text
    assert "Verifiable offline" in text and "Open Badges 3.0" in text
