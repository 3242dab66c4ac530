"""The platform's Ed25519 signing key, its published public keys (JWKS, did:web) and key ids."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

KEY_FILE = "credential-signing-key.pem"


class KeySettingError(ValueError):
    """A malformed CREDENTIAL_SIGNING_KEY or CREDENTIAL_PREVIOUS_PUBLIC_KEYS (config raises ConfigError)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(public_key: Ed25519PublicKey) -> dict:
    """The RFC 8037 OKP JWK of an Ed25519 public key (never a "d")."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint (SHA-256 over the required members in lexicographic order).

    Written out because PyJWT has no thumbprint helper; for OKP the members are crv, kty, x (RFC 8037 §2).
    """
    members = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"))
    return _b64url(hashlib.sha256(members.encode()).digest())


def did_web(base_url: str) -> str:
    """did:web of PUBLIC_BASE_URL's host (the did:web method spec: a port's colon is %3A-encoded).

    Only the host counts: the DID document is served at https://host/.well-known/did.json, so a
    deployment under a path prefix must route /.well-known/ at the host root to this app.
    """
    netloc = urlsplit(base_url).netloc.rsplit("@", 1)[-1]
    return "did:web:" + quote(netloc, safe="")


def key_id(jwk: dict, base_url: str) -> str:
    """The kid: a DID URL that dereferences to the key's verification method in the did:web document."""
    return f"{did_web(base_url)}#{thumbprint(jwk)}"


def load_private_key(pem: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PKCS#8 PEM (an env var may carry its newlines as literal \\n)."""
    try:
        key = serialization.load_pem_private_key(pem.replace("\\n", "\n").encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeySettingError("CREDENTIAL_SIGNING_KEY must be an unencrypted PKCS#8 PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeySettingError(
            "CREDENTIAL_SIGNING_KEY must be an Ed25519 key (openssl genpkey -algorithm ed25519)"
        )
    return key


def generate_pem() -> str:
    """A new Ed25519 private key as PKCS#8 PEM."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )


def _instance_key(instance_dir: str) -> str:
    """The embedded default's key: generated once under the instance directory, then reused.

    Written to a private temporary file and hard-linked into place (link fails if the name exists), so
    concurrent first starts (web and worker) agree on one key and nobody reads a half-written file.
    """
    path = Path(instance_dir) / KEY_FILE
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credential-key-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_pem())
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won the race: use its key
    finally:
        os.unlink(tmp)
    return path.read_text()


def parse_previous_keys(raw: str | None) -> list[dict]:
    """CREDENTIAL_PREVIOUS_PUBLIC_KEYS: a JWKS ({"keys": [...]}) or a JSON list of Ed25519 public JWKs."""
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise KeySettingError(
            "CREDENTIAL_PREVIOUS_PUBLIC_KEYS must be JSON (a JWKS or a list of JWKs)"
        ) from exc
    keys = value.get("keys") if isinstance(value, dict) else value
    if not isinstance(keys, list):
        raise KeySettingError("CREDENTIAL_PREVIOUS_PUBLIC_KEYS must be a JWKS or a list of JWKs")
    cleaned = []
    for jwk in keys:
        if (
            not isinstance(jwk, dict)
            or (jwk.get("kty"), jwk.get("crv")) != ("OKP", "Ed25519")
            or not jwk.get("x")
        ):
            raise KeySettingError(
                "CREDENTIAL_PREVIOUS_PUBLIC_KEYS: every key must be an Ed25519 OKP JWK with x"
            )
        if "d" in jwk:
            raise KeySettingError("CREDENTIAL_PREVIOUS_PUBLIC_KEYS must hold public keys only (found a 'd')")
        cleaned.append({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]})
    return cleaned


class KeyRing:
    """The signing key and every public key still published (the current one first)."""

    def __init__(self, private_key: Ed25519PrivateKey, previous: list[dict], base_url: str):
        self.private_key = private_key
        self.base_url = base_url
        self.did = did_web(base_url)
        current = public_jwk(private_key.public_key())
        self.kid = key_id(current, base_url)
        published, seen = [], set()
        for jwk in [current, *previous]:
            kid = key_id(jwk, base_url)
            if kid not in seen:
                seen.add(kid)
                published.append({**jwk, "kid": kid, "use": "sig", "alg": "EdDSA"})
        self.published = published

    def jwks(self) -> dict:
        """The JSON Web Key Set (RFC 7517 §5) verifiers fetch from /.well-known/jwks.json."""
        return {"keys": [dict(k) for k in self.published]}

    def did_document(self) -> dict:
        """The did:web DID document (DID Core 1.0; JsonWebKey2020 verification methods)."""
        methods = [
            {
                "id": k["kid"],
                "type": "JsonWebKey2020",
                "controller": self.did,
                "publicKeyJwk": {"kty": k["kty"], "crv": k["crv"], "x": k["x"]},
            }
            for k in self.published
        ]
        ids = [m["id"] for m in methods]
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
            "id": self.did,
            "verificationMethod": methods,
            "assertionMethod": ids,
        }


def keyring() -> KeyRing:
    """The app's key ring, built once per app (keys come from config; the default from the instance dir)."""
    ring = current_app.extensions.get("credential_keyring")
    if ring is None:
        config = current_app.config
        pem = config.get("CREDENTIAL_SIGNING_KEY") or _instance_key(config["INSTANCE_DIR"])
        ring = KeyRing(
            load_private_key(pem),
            parse_previous_keys(config.get("CREDENTIAL_PREVIOUS_PUBLIC_KEYS")),
            config["PUBLIC_BASE_URL"],
        )
        current_app.extensions["credential_keyring"] = ring
    return ring
