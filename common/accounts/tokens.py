"""JWT issue and revocation: PostgreSQL holds the truth, Redis a fast copy for access-token checks.

- Every login starts a token family (a `token_families` row): the one refresh token that may be used
  next and the access token issued with it. Refresh rotates the family in one conditional UPDATE; a
  rotated refresh token presented again revokes the whole family (OAuth 2.0 Security BCP). Refresh
  tokens are always checked against PostgreSQL, so they never come back after Redis loses its data.
- Access tokens are checked in Redis (one MGET): the blocklist of logged-out/rotated ids, the user's
  token version, and the auth epoch. When Redis is found without its epoch (restarted empty, or
  flushed), the epoch is set to now and every access token issued before it is refused; clients
  refresh. Revocations that could not reach Redis while it was down bump the epoch on recovery.
- Suspension, password and role changes bump `users.token_version` (the truth); `publish_version`
  pushes it to Redis with a compare-and-set on the version, so a request that read the old version
  just before the change cannot overwrite the new one.
- Redis down: access tokens are checked against PostgreSQL instead (family + user, one query), so auth
  keeps answering correctly; see README "Authentication and security".
- A web process remembers, for TOKEN_CHECK_CACHE_SECONDS, the access tokens Redis found valid
  (`_recently_valid`), so a burst of requests with one token costs one Redis read. Every revocation
  or version change made in this process forgets them all at once; one made in another process acts
  here within that bound. Redis failing forgets them too (the epoch logic must see every token again).
"""

from __future__ import annotations

import logging
import time
import uuid

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import and_, update

from common.accounts.models import TokenFamily, User
from common.cache import CacheUnavailable, cache
from common.db import db, utcnow
from common.errors import Forbidden, Unauthorized

log = logging.getLogger(__name__)

TOKEN_VERSION_TTL = 3600
EPOCH_KEY = "auth:epoch"
# Cached version values are "<rank>:<state>"; a deleted user outranks every real version.
_DELETED_RANK = 2**62


# jti -> monotonic time until which this process trusts it without asking Redis (see the docstring).
_recently_valid: dict[str, float] = {}
_RECENT_MAX = 20_000
# Bumped by every forget: a check that read Redis before a revocation was published must not store
# its (now stale) verdict after the forget. Checks read it before Redis and re-read it after storing.
_generation = [0]


def forget_recent_checks() -> None:
    """Ask Redis again for every access token. Call after a revocation or version change has been
    written to Redis (or failed to be), and on a Redis failure."""
    _generation[0] += 1
    _recently_valid.clear()


def _remember_valid(jti: str, generation: int, seconds: float) -> None:
    if len(_recently_valid) >= _RECENT_MAX:
        _recently_valid.clear()
    _recently_valid[jti] = time.monotonic() + seconds
    if _generation[0] != generation:  # a forget ran meanwhile: this verdict may predate it
        _recently_valid.pop(jti, None)


def _blocklist_key(jti: str) -> str:
    return f"auth:bl:{jti}"


def _version_key(user_id: int) -> str:
    return f"auth:tv:{user_id}"


def _access_ttl() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()) + 1


# --- issue and rotate -----------------------------------------------------------------------------


def issue_tokens(user) -> dict:
    """A fresh access/refresh pair for the user in a new token family (one login session)."""
    family = TokenFamily(
        id=str(uuid.uuid4()),
        user_id=user.id,
        refresh_jti=str(uuid.uuid4()),
        access_jti=str(uuid.uuid4()),
        expires_at=_refresh_expiry(),
    )
    db.session.add(family)
    db.session.commit()
    return _mint(user, family.id, access_jti=family.access_jti, refresh_jti=family.refresh_jti)


def rotate_refresh_token(payload: dict, user) -> dict:
    """Exchange the family's current refresh token for a new pair; Unauthorized if it was used already.

    Losing a race with a concurrent rotation of the same token counts as reuse: the family dies.
    """
    new_refresh, new_access = str(uuid.uuid4()), str(uuid.uuid4())
    rotated = db.session.execute(
        update(TokenFamily)
        .where(
            TokenFamily.id == payload.get("fam"),
            TokenFamily.refresh_jti == payload["jti"],
            TokenFamily.revoked_at.is_(None),
        )
        .values(
            refresh_jti=new_refresh, access_jti=new_access, rotated_at=utcnow(), expires_at=_refresh_expiry()
        )
        .returning(TokenFamily.id)
    ).first()
    if rotated is None:
        _revoke_family(payload.get("fam"), "reuse")
        raise Unauthorized("Token has been revoked")
    db.session.commit()
    _blocklist(payload.get("ajti"))
    return _mint(user, rotated.id, access_jti=new_access, refresh_jti=new_refresh)


def _refresh_expiry():
    return utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]


def _mint(user, family_id: str, *, access_jti: str, refresh_jti: str) -> dict:
    # Start the epoch now if Redis has none, so these tokens are not refused as "from before it";
    # and cache the version just read from the database, so the first request with these tokens
    # need not read it again (a compare-and-set: it never replaces a newer one).
    try:
        cache.add(EPOCH_KEY, f"{int(time.time())}:")
        _store_version(user.id, (user.token_version, "a" if user.status == "active" else "s"))
    except CacheUnavailable:
        pass
    claims = {"role": user.role, "tv": user.token_version, "fam": family_id}
    access = create_access_token(
        identity=str(user.id), additional_claims={**claims, "jti": access_jti, "rjti": refresh_jti}
    )
    refresh = create_refresh_token(
        identity=str(user.id), additional_claims={**claims, "jti": refresh_jti, "ajti": access_jti}
    )
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer"}


# --- revoke ---------------------------------------------------------------------------------------


def revoke_pair(payload: dict) -> None:
    """Log out: revoke the token's family (its refresh and access token) in PostgreSQL, then Redis."""
    _revoke_family(payload.get("fam"), "logout")
    _blocklist(payload["jti"] if payload.get("type") == "access" else None, payload.get("ajti"))


def _revoke_family(family_id: str | None, reason: str) -> None:
    if not family_id:
        return
    access_jti = db.session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
        .returning(TokenFamily.access_jti)
    ).scalar_one_or_none()
    db.session.commit()
    if reason == "reuse" and access_jti:
        log.warning("refresh token reuse: token family %s revoked", family_id)
    _blocklist(access_jti)


def _blocklist(*jtis: str | None) -> None:
    """Refuse these access tokens in Redis at once; if Redis is down, bump the epoch on recovery."""
    try:
        for jti in filter(None, jtis):
            cache.set(_blocklist_key(jti), b"1", _access_ttl())
    except CacheUnavailable:
        _defer_epoch_bump()
    finally:
        forget_recent_checks()


def publish_version(user) -> None:
    """Push the user's token version (and whether they are suspended) to Redis after commit."""
    state = "a" if user.status == "active" else "s"
    try:
        cache.set_if_newer(
            _version_key(user.id), user.token_version, f"{user.token_version}:{state}", TOKEN_VERSION_TTL
        )
    except CacheUnavailable:
        # While Redis is down tokens are checked against PostgreSQL; on recovery the epoch bump
        # refuses every access token issued before it (the stale cached version cannot matter).
        log.warning("token version of user %s not published: Redis unavailable", user.id)
        _defer_epoch_bump()
    finally:
        forget_recent_checks()


# --- check ----------------------------------------------------------------------------------------


def is_revoked(payload: dict) -> bool:
    """True if the token was logged out, rotated away, predates the user's version or the epoch.

    Forbidden (403) if the account is suspended. Refresh tokens are checked in PostgreSQL; access
    tokens in Redis, or in PostgreSQL while Redis is unavailable.
    """
    if payload.get("type") == "refresh":
        return _refresh_revoked(payload)
    jti = payload["jti"]
    trusted_until = _recently_valid.get(jti)
    if trusted_until is not None and trusted_until > time.monotonic():
        return False
    generation = _generation[0]
    try:
        revoked = _access_revoked_in_cache(payload)
    except CacheUnavailable:
        forget_recent_checks()
        return _access_revoked_in_db(payload)
    seconds = current_app.config["TOKEN_CHECK_CACHE_SECONDS"]
    if not revoked and seconds > 0:
        _remember_valid(jti, generation, seconds)
    return revoked


def _access_revoked_in_cache(payload: dict) -> bool:
    user_id = int(payload["sub"])
    _flush_epoch_bump()
    blocked, version, epoch = cache.get_many(
        [_blocklist_key(payload["jti"]), _version_key(user_id), EPOCH_KEY]
    )
    if blocked is not None:
        return True
    rank, state = _parse_version(version)
    token_version = int(payload.get("tv", -1))
    if rank is None or rank < token_version:
        # Missing, or older than a version the database already handed out: read the truth.
        rank, state = _load_version(user_id)
    if state == "s":
        raise Forbidden("This account is suspended")
    if rank != token_version:
        return True
    epoch_at = _epoch_value(epoch) if epoch is not None else _ensure_epoch()
    return int(payload.get("iat", 0)) < epoch_at


def _parse_version(raw: bytes | None) -> tuple[int | None, str | None]:
    if raw is None:
        return None, None
    rank, _, state = raw.decode().partition(":")
    try:
        return int(rank), state
    except ValueError:
        return None, None


def _read_version(user_id: int) -> tuple[int, str]:
    """(token version, "a"|"s"|"d") from the database: the truth."""
    row = db.session.execute(db.select(User.token_version, User.status).where(User.id == user_id)).first()
    if row is None:
        return _DELETED_RANK, "d"
    return row.token_version, ("a" if row.status == "active" else "s")


def _store_version(user_id: int, version: tuple[int, str]) -> None:
    """Cache a version read earlier: a compare-and-set, so it never replaces a newer one."""
    rank, state = version
    cache.set_if_newer(_version_key(user_id), rank, f"{rank}:{state}", TOKEN_VERSION_TTL)


def _load_version(user_id: int) -> tuple[int, str]:
    version = _read_version(user_id)
    _store_version(user_id, version)
    return version


def _access_revoked_in_db(payload: dict) -> bool:
    row = db.session.execute(
        db.select(User.token_version, User.status, TokenFamily.access_jti, TokenFamily.revoked_at)
        .select_from(User)
        .outerjoin(TokenFamily, and_(TokenFamily.id == payload.get("fam"), TokenFamily.user_id == User.id))
        .where(User.id == int(payload["sub"]))
    ).first()
    return _family_refuses(row, payload, row.access_jti if row else None)


def _refresh_revoked(payload: dict) -> bool:
    row = db.session.execute(
        db.select(User.token_version, User.status, TokenFamily.refresh_jti, TokenFamily.revoked_at)
        .select_from(User)
        .outerjoin(TokenFamily, and_(TokenFamily.id == payload.get("fam"), TokenFamily.user_id == User.id))
        .where(User.id == int(payload["sub"]))
    ).first()
    current = row.refresh_jti if row else None
    if row is not None and current is not None and row.revoked_at is None and current != payload["jti"]:
        # A rotated refresh token came back: someone else holds it too. End the whole session.
        _revoke_family(payload.get("fam"), "reuse")
        return True
    return _family_refuses(row, payload, current)


def _family_refuses(row, payload: dict, current_jti: str | None) -> bool:
    if row is None:
        return True  # the account is gone
    if row.status != "active":
        raise Forbidden("This account is suspended")
    if row.token_version != payload.get("tv"):
        return True
    return current_jti is None or row.revoked_at is not None or current_jti != payload["jti"]


# --- the epoch ------------------------------------------------------------------------------------


def _epoch_value(raw: bytes) -> int:
    return int(raw.split(b":", 1)[0])


def _ensure_epoch() -> int:
    """The epoch, set to now when Redis has none (it restarted empty or was flushed)."""
    now = int(time.time())
    if cache.add(EPOCH_KEY, f"{now}:"):
        log.info("auth epoch started: access tokens issued before now are refused")
        return now
    raw = cache.get(EPOCH_KEY)
    return _epoch_value(raw) if raw is not None else now


def _defer_epoch_bump() -> None:
    """A revocation missed Redis: on the next contact, refuse every access token issued before it."""
    cache.backend.auth_epoch_pending = True


def _flush_epoch_bump() -> None:
    backend = cache.backend
    if getattr(backend, "auth_epoch_pending", False):
        now = int(time.time())
        cache.set_if_newer(EPOCH_KEY, now, f"{now}:", None)
        backend.auth_epoch_pending = False
        log.warning("Redis back after missed revocations: access tokens issued before now are refused")


# --- housekeeping ---------------------------------------------------------------------------------


def purge_expired_families(*, batch: int = 5000) -> int:
    """Delete up to `batch` token families whose newest refresh token has expired; returns how many."""
    ids = db.select(TokenFamily.id).where(TokenFamily.expires_at < utcnow()).limit(batch).scalar_subquery()
    deleted = db.session.execute(db.delete(TokenFamily).where(TokenFamily.id.in_(ids))).rowcount
    db.session.commit()
    return deleted
