"""JWT issue and revocation: a blocklist of token ids and a per-user token version in the cache.

Every access token carries the id of its refresh token (`rjti`) and vice versa (`ajti`), so logout
with either revokes both. Suspension, password and role changes bump the user's token version,
which kills every token issued before at once. Cache errors fail closed (503).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token

from common.cache import CacheUnavailable, cache
from common.db import db
from common.errors import Forbidden, ServiceUnavailable

TOKEN_VERSION_TTL = 3600
SUSPENDED = "S"


def _blocklist_key(jti: str) -> str:
    return f"auth:bl:{jti}"


def _version_key(user_id: int) -> str:
    return f"auth:tv:{user_id}"


def issue_tokens(user) -> dict:
    """A fresh access/refresh pair for the user, cross-linked for logout."""
    access_jti, refresh_jti = str(uuid.uuid4()), str(uuid.uuid4())
    claims = {"role": user.role, "tv": user.token_version}
    access = create_access_token(
        identity=str(user.id), additional_claims={**claims, "jti": access_jti, "rjti": refresh_jti}
    )
    refresh = create_refresh_token(
        identity=str(user.id), additional_claims={**claims, "jti": refresh_jti, "ajti": access_jti}
    )
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer"}


def _ttl_until(exp: int | None) -> int:
    if not exp:
        return int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds())
    remaining = int(exp - datetime.now(timezone.utc).timestamp()) + 1
    return max(remaining, 1)


def _refresh_ttl() -> int:
    return int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds()) + 1


def revoke_pair(payload: dict) -> None:
    """Revoke the presented token and its partner (logout)."""
    keys = [payload["jti"], payload.get("rjti"), payload.get("ajti")]
    try:
        for jti in filter(None, keys):
            # The partner may live longer than the presented token: keep it for the refresh lifetime.
            ttl = _ttl_until(payload.get("exp")) if jti == payload["jti"] else _refresh_ttl()
            cache.set(_blocklist_key(jti), b"1", ttl)
    except CacheUnavailable as exc:
        raise ServiceUnavailable("Token store unavailable, try again shortly") from exc


def claim_refresh_token(payload: dict) -> bool:
    """Atomically mark a refresh token used; False if it was used (or revoked) already."""
    try:
        claimed = cache.add(_blocklist_key(payload["jti"]), b"1", _ttl_until(payload.get("exp")))
        if claimed and payload.get("ajti"):
            cache.set(_blocklist_key(payload["ajti"]), b"1", _refresh_ttl())
        return claimed
    except CacheUnavailable as exc:
        raise ServiceUnavailable("Token store unavailable, try again shortly") from exc


def is_revoked(payload: dict) -> bool:
    """True if the token was logged out, rotated away, or predates the user's token version."""
    user_id = int(payload["sub"])
    try:
        blocked, version = cache.get_many([_blocklist_key(payload["jti"]), _version_key(user_id)])
        if blocked is not None:
            return True
        if version is None:
            version = _load_version(user_id)
    except CacheUnavailable as exc:
        raise ServiceUnavailable("Token store unavailable, try again shortly") from exc
    version = version.decode() if isinstance(version, bytes) else str(version)
    if version == SUSPENDED:
        raise Forbidden("This account is suspended")
    return version != str(payload.get("tv"))


def _load_version(user_id: int) -> int:
    from common.accounts.models import User

    row = db.session.execute(
        db.select(User.token_version, User.status).where(User.id == user_id)
    ).first()
    # A deleted user has no valid version at all; a suspended one is told so (403).
    version = "-1" if row is None else (SUSPENDED if row.status != "active" else str(row.token_version))
    cache.set(_version_key(user_id), version, TOKEN_VERSION_TTL)
    return version


def publish_version(user) -> None:
    """Push the user's current token version (or the suspended marker) to the cache after commit."""
    version = str(user.token_version) if user.status == "active" else SUSPENDED
    try:
        cache.set(_version_key(user.id), version, TOKEN_VERSION_TTL)
    except CacheUnavailable:
        # The cached value expires within TOKEN_VERSION_TTL; deleting is impossible too, so
        # refuse loudly rather than leave old tokens working silently.
        raise ServiceUnavailable("Token store unavailable; the change is saved but tokens may "
                                 "stay valid until the cache recovers")
