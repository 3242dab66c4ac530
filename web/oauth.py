"""Google sign-in through Authlib's OpenID Connect client (discovery from GOOGLE_DISCOVERY_URL)."""

from __future__ import annotations

import logging

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import current_app
from joserfc.errors import JoseError
from requests.exceptions import RequestException

from common.errors import ServiceUnavailable, Unauthorized

log = logging.getLogger(__name__)


def _client():
    """The registered Google client, created lazily per app (config may differ between apps)."""
    app = current_app._get_current_object()
    oauth: OAuth | None = app.extensions.get("authlib.integrations.flask_client")
    if oauth is None or "google" not in oauth._registry:
        if not app.config["GOOGLE_CLIENT_ID"]:
            raise ServiceUnavailable("Google sign-in is not configured on this server")
        oauth = oauth or OAuth(app)
        oauth.register(
            "google",
            client_id=app.config["GOOGLE_CLIENT_ID"],
            client_secret=app.config["GOOGLE_CLIENT_SECRET"],
            server_metadata_url=app.config["GOOGLE_DISCOVERY_URL"],
            client_kwargs={"scope": "openid email profile", "timeout": 10},
        )
    return oauth.create_client("google")


def authorize_redirect(redirect_uri: str):
    """A redirect response to the provider's authorization endpoint (state and nonce in session)."""
    try:
        return _client().authorize_redirect(redirect_uri)
    except RequestException as exc:
        log.warning("OpenID discovery failed: %s", exc)
        raise ServiceUnavailable("Google sign-in is unreachable right now") from exc


def complete_authorization() -> dict:
    """Exchange the callback's code, verify the id_token and return the identity claims."""
    try:
        token = _client().authorize_access_token()
    except RequestException as exc:
        log.warning("OpenID token exchange failed: %s", exc)
        raise ServiceUnavailable("Google sign-in is unreachable right now") from exc
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
        raise Unauthorized(f"Google sign-in failed: {exc}") from exc
    claims = token.get("userinfo") or {}
    if not claims.get("sub"):
        raise Unauthorized("Google sign-in returned no identity")
    return {
        "sub": str(claims["sub"]),
        "email": claims.get("email"),
        "email_verified": bool(claims.get("email_verified")),
        "name": claims.get("name"),
    }
