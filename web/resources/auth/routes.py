"""Registration, login, token refresh/logout, profile and Google sign-in."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app, redirect, session, url_for
from flask_jwt_extended import get_jwt
from flask_smorest import Blueprint

from common.accounts import oauth_codes, service, tokens
from common.errors import BadRequest, DomainError, Forbidden, ServiceUnavailable
from web import oauth
from web.auth import auth_required, current_user_id
from web.extensions import limiter
from web.resources.auth.schemas import (
    GoogleLoginArgsSchema,
    LoginSchema,
    MessageSchema,
    OAuthExchangeSchema,
    ProfileUpdatedSchema,
    ProfileUpdateSchema,
    RegisterSchema,
    TokensSchema,
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
    user = service.active_user(current_user_id())
    return {**tokens.rotate_refresh_token(get_jwt(), user), "user": user}


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


RETURN_TO_KEY = "oauth_return_to"


def _with_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = urlencode(parse_qsl(parts.query, keep_blank_values=True) + list(params.items()))
    return urlunsplit(parts._replace(query=query))


def _front_end_redirect(url: str, **params):
    response = redirect(_with_query(url, **params), code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def _sign_in_error(exc: DomainError) -> str:
    if isinstance(exc, Forbidden):
        return "access_denied"
    if isinstance(exc, ServiceUnavailable):
        return "temporarily_unavailable"
    return "sign_in_failed"


@blp.route("/oauth/google/login", methods=["GET"])
@limiter.limit(_auth_limit)
@blp.arguments(GoogleLoginArgsSchema, location="query")
@blp.response(302, description="Redirect to Google's consent page")
@blp.alt_response(400, description="return_to is not one of the allowed front-end URLs")
@blp.alt_response(503, description="Google sign-in is not configured or unreachable")
def google_login(args):
    """Start Google sign-in: redirects the browser to Google."""
    allowed = current_app.config["FRONTEND_URL"]
    return_to = args.get("return_to")
    if return_to is not None and return_to not in allowed:
        raise BadRequest("return_to is not one of this server's front-end URLs")
    response = oauth.authorize_redirect(url_for("auth.google_callback", _external=True))
    session.pop(RETURN_TO_KEY, None)
    if return_to:
        session[RETURN_TO_KEY] = return_to
    return response


@blp.route("/oauth/google/callback", methods=["GET"])
@limiter.limit(_auth_limit)
@blp.response(200, TokensSchema, description="Tokens, when no FRONTEND_URL is configured")
@blp.alt_response(
    302,
    description="To the front end with `code` (exchange it at /api/auth/oauth/exchange) "
    "or `error` (`access_denied`, `sign_in_failed`, `temporarily_unavailable`)",
)
@blp.alt_response(401, description="The Google response was invalid")
@blp.alt_response(
    403,
    description="Email not verified by Google, account suspended, or an instructor/admin "
    "account (never linked to Google automatically: sign in with its password)",
)
@blp.alt_response(503, description="Google sign-in is not configured or unreachable")
def google_callback():
    """Finish Google sign-in: link a student account by verified email or create one; hand over tokens."""
    allowed = current_app.config["FRONTEND_URL"]
    return_to = session.pop(RETURN_TO_KEY, None)
    if not allowed:
        identity = oauth.complete_authorization()
        return _session(service.login_with_google(**identity))
    if return_to not in allowed:
        return_to = allowed[0]
    try:
        user = service.login_with_google(**oauth.complete_authorization())
        code = oauth_codes.issue_code(user_id=user.id)
    except DomainError as exc:
        return _front_end_redirect(return_to, error=_sign_in_error(exc), error_description=exc.message)
    return _front_end_redirect(return_to, code=code)


@blp.route("/oauth/exchange", methods=["POST"])
@limiter.limit(_auth_limit)
@blp.arguments(OAuthExchangeSchema)
@blp.response(200, TokensSchema)
@blp.alt_response(401, description="The code is invalid, expired or already used")
@blp.alt_response(403, description="Account suspended")
def oauth_exchange(data):
    """Exchange the one-time code from the Google sign-in redirect for tokens (once)."""
    user_id = oauth_codes.redeem_code(code=data["code"])
    return _session(service.active_user(user_id))
