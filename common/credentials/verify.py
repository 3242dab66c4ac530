"""Offline verification of a VC-JWT credential: published keys and status list only, no database.

What an employer's verifier does (Open Badges 3.0 §8.2 "Verify a Credential", Bitstring Status List
v1.0 §3.2 "Validate Algorithm"); the tests use it to prove our credentials verify without us.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable

import jwt

from common.credentials import status_list

ALGORITHMS = ["EdDSA"]


class CredentialInvalid(Exception):
    """The credential does not verify; `reason` says why (malformed, unknown_key, bad_signature,
    expired, not_yet_valid, claims_mismatch, status_unavailable, revoked)."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason


def _key_for(token: str, jwks: dict):
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise CredentialInvalid("malformed", str(exc)) from exc
    if header.get("alg") not in ALGORITHMS:
        raise CredentialInvalid("malformed", f"unexpected alg {header.get('alg')!r}")
    for jwk in jwks.get("keys", []):
        if jwk.get("kid") == header.get("kid"):
            return jwt.PyJWK.from_dict(jwk, algorithm="EdDSA")
    raise CredentialInvalid("unknown_key", f"no published key {header.get('kid')!r}")


def verify_jwt(token: str, jwks: dict) -> dict:
    """The payload of a VC-JWT whose signature, nbf/exp and OB 3.0 claims check out (or CredentialInvalid)."""
    key = _key_for(token, jwks)
    options = {"require": ["iss", "jti", "nbf", "sub"], "verify_aud": False}
    try:
        payload = jwt.decode(token, key, algorithms=ALGORITHMS, options=options)
    except jwt.ExpiredSignatureError as exc:
        raise CredentialInvalid("expired", str(exc)) from exc
    except jwt.ImmatureSignatureError as exc:
        raise CredentialInvalid("not_yet_valid", str(exc)) from exc
    except jwt.InvalidSignatureError as exc:
        raise CredentialInvalid("bad_signature", str(exc)) from exc
    except (jwt.DecodeError, jwt.MissingRequiredClaimError, binascii.Error, json.JSONDecodeError) as exc:
        raise CredentialInvalid("malformed", str(exc)) from exc
    except jwt.InvalidTokenError as exc:
        raise CredentialInvalid("malformed", str(exc)) from exc
    issuer = payload.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    subject = payload.get("credentialSubject") or {}
    # OB 3.0 §8.2 "JWT Payload Format": the registered claims mirror the credential's own fields.
    if (payload["iss"], payload["jti"], payload["sub"]) != (issuer_id, payload.get("id"), subject.get("id")):
        raise CredentialInvalid(
            "claims_mismatch", "iss/jti/sub disagree with issuer.id/id/credentialSubject.id"
        )
    return payload


def verify_credential(token: str, jwks: dict, fetch_status_list: Callable[[str], str]) -> dict:
    """Verify a credential and its revocation bit; `fetch_status_list(url)` returns the list's VC-JWT."""
    credential = verify_jwt(token, jwks)
    entries = credential.get("credentialStatus") or []
    for entry in entries if isinstance(entries, list) else [entries]:
        if entry.get("type") != "BitstringStatusListEntry" or entry.get("statusPurpose") != "revocation":
            continue
        try:
            status_jwt = fetch_status_list(entry["statusListCredential"])
        except Exception as exc:  # whatever the transport raised: the status cannot be checked
            raise CredentialInvalid("status_unavailable", str(exc)) from exc
        status_credential = verify_jwt(status_jwt, jwks)
        subject = status_credential.get("credentialSubject") or {}
        if status_credential.get("id") != entry["statusListCredential"] or subject.get("statusPurpose") != (
            "revocation"
        ):
            raise CredentialInvalid(
                "status_unavailable", "the status list is not the one the credential names"
            )
        try:
            revoked = status_list.is_set(subject["encodedList"], int(entry["statusListIndex"]))
        except (KeyError, ValueError, OSError) as exc:
            raise CredentialInvalid("status_unavailable", str(exc)) from exc
        if revoked:
            raise CredentialInvalid("revoked", f"status bit {entry['statusListIndex']} is set")
    return credential
