"""A local OpenID Connect provider that speaks the slice of Google's API our sign-in uses.

Discovery, an authorize endpoint that "consents" at once and redirects back with a code, a token
endpoint returning an RS256-signed id_token, JWKS and userinfo. The signed-in identity comes from
query parameters on the authorize URL (sub, email, email_verified, name), so a test or a developer
chooses who signs in. `tamper=1` signs the id_token with a key the JWKS does not publish.

    python -m standins.google --port 5011
"""

from __future__ import annotations

import os
import secrets
import time
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey

DEFAULT_CLIENT_ID = "local-standin-client"
DEFAULT_CLIENT_SECRET = "local-standin-secret"


def create_app(issuer: str, client_id: str | None = None, client_secret: str | None = None) -> Flask:
    app = Flask("google-standin")
    client_id = client_id or os.environ.get("GOOGLE_CLIENT_ID") or DEFAULT_CLIENT_ID
    client_secret = client_secret or os.environ.get("GOOGLE_CLIENT_SECRET") or DEFAULT_CLIENT_SECRET
    key = RSAKey.generate_key(2048, parameters={"kid": "standin-1", "use": "sig", "alg": "RS256"})
    rogue_key = RSAKey.generate_key(2048, parameters={"kid": "standin-1"})
    codes: dict[str, dict] = {}
    access_tokens: dict[str, dict] = {}

    def error(code: str, status: int = 400):
        return jsonify({"error": code}), status

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/o/oauth2/v2/auth",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/v1/userinfo",
            "jwks_uri": f"{issuer}/oauth2/v3/certs",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    @app.get("/oauth2/v3/certs")
    def jwks():
        return {"keys": [key.as_dict(private=False)]}

    @app.get("/o/oauth2/v2/auth")
    def authorize():
        args = request.args
        if args.get("client_id") != client_id:
            return error("invalid_client", 401)
        if args.get("response_type") != "code" or "openid" not in args.get("scope", "").split():
            return error("invalid_request")
        code = secrets.token_urlsafe(24)
        email = args.get("email", "learner@example.com")
        codes[code] = {
            "redirect_uri": args["redirect_uri"],
            "nonce": args.get("nonce"),
            "tamper": args.get("tamper") == "1",
            "claims": {
                "sub": args.get("sub", "google-oauth2|1000"),
                "email": email,
                "email_verified": args.get("email_verified", "true") == "true",
                "name": args.get("name", "Google Learner"),
            },
        }
        return redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args.get('state', '')})}")

    def _client_credentials() -> tuple[str | None, str | None]:
        if request.authorization and request.authorization.type == "basic":
            return request.authorization.username, request.authorization.password
        return request.form.get("client_id"), request.form.get("client_secret")

    @app.post("/token")
    def token():
        if _client_credentials() != (client_id, client_secret):
            return error("invalid_client", 401)
        grant = codes.pop(request.form.get("code", ""), None)
        if request.form.get("grant_type") != "authorization_code" or grant is None:
            return error("invalid_grant")
        if request.form.get("redirect_uri") != grant["redirect_uri"]:
            return error("invalid_grant")
        now = int(time.time())
        claims = {
            **grant["claims"],
            "iss": issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + 3600,
            "azp": client_id,
        }
        if grant["nonce"]:
            claims["nonce"] = grant["nonce"]
        signing_key = rogue_key if grant["tamper"] else key
        id_token = jwt.encode({"alg": "RS256", "kid": "standin-1"}, claims, signing_key)
        access = secrets.token_urlsafe(24)
        access_tokens[access] = grant["claims"]
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid email profile",
            "id_token": id_token,
        }

    @app.get("/v1/userinfo")
    def userinfo():
        auth = request.headers.get("Authorization", "")
        claims = access_tokens.get(auth.removeprefix("Bearer "))
        return claims if claims else error("invalid_token", 401)

    return app


if __name__ == "__main__":  # pragma: no cover - CLI entry point
    from standins.server import main

    main(create_app, "Google OpenID stand-in", 5011)
