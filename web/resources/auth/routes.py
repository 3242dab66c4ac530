"""Registration, login, token refresh/logout, profile and Google sign-in."""
from __future__ import annotations

from flask import current_app, url_for
from flask_jwt_extended import get_jwt
from flask_smorest import Blueprint

from common.accounts import service, tokens
from common.errors import Unauthorized
from web import oauth
from web.auth import auth_required, current_user_id
from web.extensions import limiter
from web.resources.auth.schemas import (
    LoginSchema, MessageSchema, ProfileUpdatedSchema, ProfileUpdateSchema, RegisterSchema, TokensSchema,
    UserSchema,
)

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Accounts and tokens")


def _auth_limit():
    return current_app.config["RATELIMIT_AUTH"]


def _session(user) -> dict:
    return {**tokens.issue_tokens(user), "user": user}


@blp.route("/register", methods=["POST"])
@limiter.limit(_auth_limit)
@blp.arguments(RegisterSchema)
@blp.response(201, TokensSchema)
@blp.alt_response(409, description="An account with this email already exists")
def register(data):
    """Create a student or instructor account and sign it in."""
    return _session(service.register(**data))


@blp.route("/login", methods=["POST"])
@limiter.limit(_auth_limit)
@blp.arguments(LoginSchema)
@blp.response(200, TokensSchema)
@blp.alt_response(401, description="Invalid email or password")
@blp.alt_response(403, description="Account suspended")
def login(data):
    """Exchange email and password for access and refresh tokens."""
    return _session(service.authenticate(**data))


@blp.route("/refresh", methods=["POST"])
@limiter.limit(_auth_limit)
@auth_required(refresh=True)
@blp.response(200, TokensSchema)
def refresh():
    """Rotate a refresh token: a new pair; the presented refresh token stops working."""
    payload = get_jwt()
    if not tokens.claim_refresh_token(payload):
        raise Unauthorized("Token has been revoked")
    return _session(service.active_user(current_user_id()))


@blp.route("/logout", methods=["POST"])
@auth_required()
@blp.response(200, MessageSchema)
def logout():
    """Revoke the presented token and its partner (access and refresh)."""
    tokens.revoke_pair(get_jwt())
    return {"message": "Logged out"}


@blp.route("/logout/refresh", methods=["POST"])
@auth_required(refresh=True)
@blp.response(200, MessageSchema)
def logout_with_refresh():
    """Log out presenting the refresh token (revokes both tokens of the pair)."""
    tokens.revoke_pair(get_jwt())
    return {"message": "Logged out"}


@blp.route("/me", methods=["GET"])
@auth_required()
@blp.response(200, UserSchema)
def me():
    """The caller's profile."""
    return service.active_user(current_user_id())


@blp.route("/me", methods=["PATCH"])
@auth_required()
@blp.arguments(ProfileUpdateSchema)
@blp.response(200, ProfileUpdatedSchema)
def update_me(data):
    """Change your name and/or password (a password change needs the current one)."""
    user, password_changed = service.update_profile(user_id=current_user_id(), **data)
    body = {"user": user}
    if password_changed:
        # Every earlier token is now revoked; hand back a fresh pair so this client stays signed in.
        body.update(tokens.issue_tokens(user))
    return body


@blp.route("/oauth/google/login", methods=["GET"])
@limiter.limit(_auth_limit)
@blp.response(302, description="Redirect to Google's consent page")
@blp.alt_response(503, description="Google sign-in is not configured or unreachable")
def google_login():
    """Start Google sign-in: redirects the browser to Google."""
    return oauth.authorize_redirect(url_for("auth.google_callback", _external=True))


@blp.route("/oauth/google/callback", methods=["GET"])
@limiter.limit(_auth_limit)
@blp.response(200, TokensSchema)
@blp.alt_response(401, description="The Google response was invalid")
@blp.alt_response(403, description="Email not verified by Google, account suspended, or an instructor/admin "
                                   "account (never linked to Google automatically: sign in with its password)")
@blp.alt_response(503, description="Google sign-in is not configured or unreachable")
def google_callback():
    """Finish Google sign-in: links a student account by verified email or creates a student; returns tokens."""
    identity = oauth.complete_authorization()
    return _session(service.login_with_google(**identity))
