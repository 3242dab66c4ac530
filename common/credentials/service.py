"""Issue certificates and badges as signed OpenBadgeCredentials (VC-JWT) and publish the status list.

Shapes: 1EdTech Open Badges 3.0 (https://www.imsglobal.org/spec/ob/v3p0/, §B.1.1 AchievementCredential,
§B.1.2 AchievementSubject, §B.1.3 Achievement, §B.2.5 IdentityObject, §8.2 JSON Web Token Proof Format)
on the W3C VC Data Model 2.0 (https://www.w3.org/TR/vc-data-model-2.0/), revocation through W3C
Bitstring Status List v1.0 (https://www.w3.org/TR/vc-bitstring-status-list/).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from urllib.parse import urlencode

import jwt
from flask import current_app
from sqlalchemy import or_, select

from common.accounts.models import User
from common.certificates.models import Certificate
from common.credentials import status_list
from common.credentials.keys import keyring
from common.credentials.models import Credential
from common.db import db, get_owned, insert_ignore, utcnow
from common.errors import InvalidState, not_found
from common.gamification.models import Badge, UserBadge

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
MEDIA_TYPE = "application/vc+jwt"  # VC-JOSE-COSE §3.1.1 (https://www.w3.org/TR/vc-jose-cose/)
STATUS_LIST_ID = 1
COURSE_CRITERIA = "Complete every lesson of the course and answer each of its quizzes correctly."


def _base() -> str:
    return current_app.config["PUBLIC_BASE_URL"]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def identity_hash(email: str, salt: str) -> str:
    """OB 3.0 IdentityHash: "sha256$" + hex SHA-256 of the lower-cased, trimmed email followed by the salt.

    The salt (16 random bytes, hex, one per credential) is published beside the hash in the
    credential, so whoever already knows the learner's email can confirm it; nobody can read it.
    """
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def status_list_url(list_id: int = STATUS_LIST_ID) -> str:
    return f"{_base()}/api/credentials/status/{list_id}"


def issuer_profile() -> dict:
    """The issuer Profile (OB 3.0 §B.2.7): the platform, identified by its did:web."""
    return {
        "id": keyring().did,
        "type": ["Profile"],
        "name": current_app.config["CREDENTIAL_ISSUER_NAME"],
        "url": _base(),
    }


def sign(credential: dict) -> str:
    """The credential as a Compact JWS (OB 3.0 §8.2): alg EdDSA, kid a DID URL, typ JWT; the payload is
    the credential itself plus the registered claims iss, jti, nbf, sub (and exp for validUntil)."""
    ring = keyring()
    claims = dict(credential)
    issuer = credential["issuer"]
    claims["iss"] = issuer["id"] if isinstance(issuer, dict) else issuer
    claims["jti"] = credential["id"]
    claims["sub"] = credential["credentialSubject"]["id"]
    claims["nbf"] = int(datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00")).timestamp())
    if credential.get("validUntil"):
        claims["exp"] = int(
            datetime.fromisoformat(credential["validUntil"].replace("Z", "+00:00")).timestamp()
        )
    return jwt.encode(claims, ring.private_key, algorithm="EdDSA", headers={"kid": ring.kid, "typ": "JWT"})


def _credential(row: Credential, *, name: str, achievement: dict) -> dict:
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{row.uuid}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(),
        "validFrom": _iso(row.valid_from),
        "name": name,
        "credentialSubject": {
            # An opaque subject id (sub is required by §8.2); the learner is named by the hash only.
            "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, row.identity_hash)}",
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": row.identity_hash,
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": row.salt,
                }
            ],
            "achievement": achievement,
        },
        "credentialStatus": {
            "id": f"{status_list_url()}#{row.id}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(row.id),
            "statusListCredential": status_list_url(),
        },
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def _certificate_credential(row: Credential, certificate: Certificate) -> dict:
    base = _base()
    achievement_id = (
        f"{base}/api/courses/{certificate.course_id}"
        if certificate.course_id is not None
        else f"{base}/api/certificates/verify/{certificate.verification_code}#achievement"
    )
    achievement = {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": certificate.course_title,
        "description": f"{certificate.course_title}, a course taught by {certificate.instructor_name}.",
        "criteria": {"narrative": COURSE_CRITERIA},
    }
    credential = _credential(row, name=certificate.course_title, achievement=achievement)
    credential["evidence"] = [
        {
            "id": f"{base}/api/certificates/verify/{certificate.verification_code}",
            "type": ["Evidence"],
            "name": "Certificate verification page",
        }
    ]
    return credential


def _badge_credential(row: Credential, badge: Badge) -> dict:
    achievement = {
        "id": f"{_base()}/api/badges#{badge.code}",
        "type": ["Achievement"],
        "achievementType": "Badge",
        "name": badge.name,
        "description": badge.description,
        "criteria": {"narrative": badge.description},
    }
    return _credential(row, name=badge.name, achievement=achievement)


def _live(column, value) -> Credential | None:
    return db.session.execute(
        select(Credential).where(column == value, Credential.revoked_at.is_(None))
    ).scalar_one_or_none()


def _latest(column, value) -> Credential | None:
    return db.session.execute(
        select(Credential).where(column == value).order_by(Credential.id.desc()).limit(1)
    ).scalar_one_or_none()


def _issue(*, kind: str, column, value: int, email: str, valid_from: datetime) -> Credential:
    """The live credential for the certificate / badge award, issued now if it has none (race-safe:
    the partial unique index lets one of concurrent issuers insert, the others read its row)."""
    row = _live(column, value)
    if row is None:
        salt = secrets.token_hex(16)
        insert_ignore(
            Credential,
            uuid=str(uuid.uuid4()),
            kind=kind,
            certificate_id=value if kind == "certificate" else None,
            user_badge_id=value if kind == "badge" else None,
            identity_hash=identity_hash(email, salt),
            salt=salt,
            valid_from=valid_from,
        )
        db.session.commit()
        row = _live(column, value)
    return row


def credential_for_certificate(certificate: Certificate) -> Credential | None:
    """The certificate's credential: the live one (issued on first use), or the latest one once revoked."""
    if certificate.revoked_at is not None:
        return _latest(Credential.certificate_id, certificate.id)
    email = db.session.execute(select(User.email).where(User.id == certificate.user_id)).scalar_one()
    # validFrom is when it was issued, so a certificate earned again after a refund is valid from then.
    return _issue(
        kind="certificate",
        column=Credential.certificate_id,
        value=certificate.id,
        email=email,
        valid_from=utcnow() if _latest(Credential.certificate_id, certificate.id) else certificate.issue_date,
    )


def _answer(row: Credential, credential: dict) -> dict:
    return {
        "id": credential["id"],
        "media_type": MEDIA_TYPE,
        "jwt": sign(credential),
        "credential": credential,
    }


def for_certificate(*, certificate_id: int, user_id: int, is_admin: bool) -> dict:
    """{id, media_type, jwt, credential} for the certificate's owner or an admin; NotFound otherwise.

    A revoked certificate never gets a new credential: its last one (now failing verification) is
    returned, or InvalidState (409) if it had none.
    """
    certificate = get_owned(Certificate, certificate_id, user_id=user_id, is_admin=is_admin)
    row = credential_for_certificate(certificate)
    if row is None:
        raise InvalidState(f"Certificate {certificate_id} was revoked before a credential was issued")
    return _answer(row, _certificate_credential(row, certificate))


def for_certificate_code(*, verification_code: str) -> tuple[Certificate, dict | None]:
    """The public verification: the certificate and its credential answer (None if revoked before one)."""
    certificate = db.session.execute(
        select(Certificate).where(Certificate.verification_code == verification_code)
    ).scalar_one_or_none()
    if certificate is None:
        raise not_found("Certificate", "with that verification code")
    row = credential_for_certificate(certificate)
    return certificate, (None if row is None else _answer(row, _certificate_credential(row, certificate)))


def for_badge(*, user_id: int, code: str) -> dict:
    """{id, media_type, jwt, credential} for a badge the caller earned; NotFound if they have not."""
    found = db.session.execute(
        select(UserBadge, Badge, User.email)
        .join(Badge, Badge.id == UserBadge.badge_id)
        .join(User, User.id == UserBadge.user_id)
        .where(UserBadge.user_id == user_id, Badge.code == code)
    ).first()
    if found is None:
        raise not_found("Earned badge", code)
    award, badge, email = found
    row = _issue(
        kind="badge",
        column=Credential.user_badge_id,
        value=award.id,
        email=email,
        valid_from=award.awarded_at,
    )
    return _answer(row, _badge_credential(row, badge))


def status_list_credential(*, list_id: int) -> dict:
    """The signed BitstringStatusListCredential (§2.2) with every revoked credential's bit set."""
    if list_id != STATUS_LIST_ID:
        raise not_found("Status list", list_id)
    revoked = set(
        db.session.execute(
            select(Credential.id).where(
                or_(
                    Credential.revoked_at.is_not(None),
                    # an orphan (its certificate or award deleted) is no longer vouched for
                    Credential.certificate_id.is_(None) & Credential.user_badge_id.is_(None),
                )
            )
        ).scalars()
    )
    size = (db.session.execute(select(db.func.max(Credential.id))).scalar() or 0) + 1
    db.session.commit()  # a read: end it
    url = status_list_url(list_id)
    credential = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": keyring().did,
        "validFrom": _iso(utcnow()),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": status_list.encode(revoked, size),
        },
    }
    # Signed like the credentials (its sub is the list's #list id), so verifiers trust it the same way.
    return {"id": url, "media_type": MEDIA_TYPE, "jwt": sign(credential), "credential": credential}


def credential_id_for_pdf(certificate: Certificate) -> str | None:
    """The id printed on the PDF (urn:uuid:...): the certificate's credential, issued now if needed."""
    row = credential_for_certificate(certificate)
    return None if row is None else f"urn:uuid:{row.uuid}"


def linkedin_add_url(certificate: Certificate) -> str:
    """LinkedIn's "Add to Profile" link for the certificate, pre-filled.

    Parameters from LinkedIn's Add to Profile for Certifications documentation
    (https://addtoprofile.linkedin.com/): startTask=CERTIFICATION_NAME, name, organizationName,
    issueYear, issueMonth, certUrl, certId.
    """
    query = urlencode(
        {
            "startTask": "CERTIFICATION_NAME",
            "name": certificate.course_title,
            "organizationName": current_app.config["CREDENTIAL_ISSUER_NAME"],
            "issueYear": certificate.issue_date.year,
            "issueMonth": certificate.issue_date.month,
            "certUrl": f"{_base()}/api/certificates/verify/{certificate.verification_code}",
            "certId": certificate.verification_code,
        }
    )
    return f"https://www.linkedin.com/profile/add?{query}"
