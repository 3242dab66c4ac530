"""Flask extension instances, initialised by create_app()."""

from __future__ import annotations

import time

import flask_jwt_extended
from flask import current_app
from flask_migrate import Migrate
from flask_talisman import Talisman

from web.ratelimit import Limiter, remote_address

# Distinct tokens each app remembers as verified; past this (a flood of new tokens) it starts over.
VERIFIED_TOKENS_MAX = 10_000


class JWTManager(flask_jwt_extended.JWTManager):
    """flask-jwt-extended's manager, remembering for each app the tokens whose signature it checked.

    Why: the library decodes every token three times per request (its claims and header unverified,
    then the whole token verified): about a tenth of an authenticated read's CPU. A token is an
    immutable string whose signature covers its claims, so a token verified once is verified until
    its `exp`; it is remembered until then (5 minutes at most), per app (an app is one secret and one
    configuration). Revocation is not affected: the blocklist and token-version checks still run on
    every request after this (common.accounts.tokens, TOKEN_CHECK_CACHE_SECONDS). The library has no
    hook for this; `_decode_jwt_from_config` is the one method every decode goes through.
    """

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value=None, allow_expired: bool = False
    ) -> dict:
        if csrf_value is not None or allow_expired:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        verified = current_app.extensions.setdefault("jwt_verified_tokens", {})
        found = verified.get(encoded_token)
        now = time.time()
        if found is not None and found[0] > now:
            return dict(found[1])
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        if isinstance(claims.get("exp"), int | float):
            if len(verified) >= VERIFIED_TOKENS_MAX:
                verified.clear()
            verified[encoded_token] = (min(claims["exp"], now + 300), dict(claims))
        return claims


migrate = Migrate()
jwt = JWTManager()
limiter = Limiter(key_func=remote_address)
talisman = Talisman()
