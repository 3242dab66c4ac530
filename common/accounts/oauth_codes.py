"""One-time sign-in codes: how a single-page app on another origin receives tokens after Google.

The OAuth callback lands on the API's origin, where the front end can't read a response. So the
callback redirects to the front end with a short-lived code instead; the front end exchanges it once
for the same tokens as login. Only a SHA-256 of the code is stored (in Redis, or the in-process cache
of the embedded default), with a TTL, and redeeming takes it with one atomic get-and-delete: a code
works once, and a leaked store reveals no usable code.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app

from common.cache import CacheUnavailable, cache
from common.errors import ServiceUnavailable, Unauthorized


def _key(code: str) -> str:
    return "auth:oc:" + hashlib.sha256(code.encode()).hexdigest()


def issue_code(*, user_id: int) -> str:
    """A fresh one-time code for this user, valid OAUTH_CODE_TTL_SECONDS."""
    code = secrets.token_urlsafe(32)
    try:
        cache.set(_key(code), str(user_id), ttl=current_app.config["OAUTH_CODE_TTL_SECONDS"])
    except CacheUnavailable as exc:
        raise ServiceUnavailable("Sign-in is unavailable right now") from exc
    return code


def redeem_code(*, code: str) -> int:
    """The user id a code was issued for, consuming it; Unauthorized if unknown, used or expired."""
    try:
        user_id = cache.take(_key(code))
    except CacheUnavailable as exc:
        raise ServiceUnavailable("Sign-in is unavailable right now") from exc
    if user_id is None:
        raise Unauthorized("This sign-in code is invalid, expired or already used")
    return int(user_id)
