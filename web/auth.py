"""Authentication and role decorators for routes, and the JWT callbacks."""

from __future__ import annotations

from copy import deepcopy
from functools import wraps

from flask_jwt_extended import get_jwt, get_jwt_identity, verify_jwt_in_request

from common.accounts import tokens
from common.errors import Forbidden
from web.errors import envelope, invalid_token
from web.extensions import jwt

# An admin may do everything an instructor may.
_IMPLIED = {"instructor": {"admin"}}


def _allowed(roles: tuple[str, ...]) -> set[str]:
    allowed = set(roles)
    for role in roles:
        allowed |= _IMPLIED.get(role, set())
    return allowed


def _document(wrapper, optional: bool, roles: tuple[str, ...]) -> None:
    apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual["security"] = [{"bearerAuth": []}, {}] if optional else [{"bearerAuth": []}]
    responses = manual.setdefault("responses", {})
    if not optional:
        responses.setdefault("401", {"description": "Missing, invalid, expired or revoked token"})
    if roles:
        responses.setdefault(
            "403", {"description": "Role not allowed: " + ", ".join(sorted(_allowed(roles)))}
        )
    wrapper._apidoc = apidoc


def auth_required(*roles: str, optional: bool = False, refresh: bool = False):
    """Require a valid token (a refresh token with refresh=True) and, if given, one of `roles`."""
    allowed = _allowed(roles)

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request(optional=optional, refresh=refresh)
            if allowed and get_jwt().get("role") not in allowed:
                raise Forbidden("Your role may not do this")
            return fn(*args, **kwargs)

        _document(wrapper, optional, roles)
        return wrapper

    return decorator


def current_user_id() -> int | None:
    identity = get_jwt_identity()
    return int(identity) if identity is not None else None


def current_role() -> str | None:
    return get_jwt().get("role") if get_jwt_identity() is not None else None


def is_admin() -> bool:
    return current_role() == "admin"


@jwt.token_in_blocklist_loader
def _check_revoked(_header, payload) -> bool:
    return tokens.is_revoked(payload)


# The decoder's own reasons ("Signature verification failed", "Not enough segments", which header was
# looked at...) help an attacker probe, not a client: these answers say only what the client can act on.
@jwt.unauthorized_loader
def _missing_token(_reason):
    return envelope(401, "Authentication required: send Authorization: Bearer <access token>")


@jwt.invalid_token_loader
def _invalid_token(_reason):
    return invalid_token("The token is invalid")


@jwt.expired_token_loader
def _expired_token(_header, _payload):
    return invalid_token("The token has expired")


@jwt.revoked_token_loader
def _revoked_token(_header, _payload):
    return invalid_token("The token has been revoked")


@jwt.needs_fresh_token_loader
def _needs_fresh(_header, _payload):  # pragma: no cover - no route asks for fresh tokens
    return invalid_token("A fresh token is required")


@jwt.user_lookup_error_loader
def _user_lookup_error(_header, _payload):  # pragma: no cover - no user loader is used
    return invalid_token("Unknown user")
