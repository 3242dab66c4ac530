"""Credentials: a certificate's and a badge's signed OpenBadgeCredential, the public keys, the DID
document and the revocation status list.

The two .well-known documents live at the site root (not under /api): a did:web resolver turns
did:web:<host> into https://<host>/.well-known/did.json (did:web method spec §3.2.1).
"""

from __future__ import annotations

import json

from flask import Response, current_app, request
from flask_smorest import Blueprint

from common.credentials import service
from common.credentials.keys import keyring
from web.auth import auth_required, current_user_id, is_admin
from web.resources.credentials.schemas import SignedCredentialSchema

blp = Blueprint("credentials", __name__, description="Open Badges 3.0 credentials, keys and status list")

JSON_OR_JWT = "JSON; with `Accept: application/vc+jwt` the Compact JWS alone (that media type)"


def _wants_jwt(default: bool) -> bool:
    accept = request.accept_mimetypes
    jwt_q, json_q = accept.quality(service.MEDIA_TYPE), accept.quality("application/json")
    if jwt_q == json_q:
        return default
    return jwt_q > json_q


def _answer(body: dict, *, default_jwt: bool = False, cache_control: str | None = None):
    if _wants_jwt(default_jwt):
        response = Response(body["jwt"], mimetype=service.MEDIA_TYPE)
    else:
        response = current_app.response_class(json.dumps(body), mimetype="application/json")
    if cache_control:
        response.headers["Cache-Control"] = cache_control
    return response


def _public(document: dict) -> Response:
    response = current_app.response_class(json.dumps(document), mimetype="application/json")
    # Verifiers run anywhere (wallets, browser extensions): the public keys are readable cross-origin.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blp.route("/api/certificates/<int:certificate_id>/credential")
@auth_required()
@blp.response(200, SignedCredentialSchema, description=JSON_OR_JWT)
@blp.alt_response(404, description="No such certificate, or not yours")
@blp.alt_response(409, description="Revoked before a credential was issued")
def certificate_credential(certificate_id):
    """The certificate as a signed Open Badges 3.0 credential (owner or admin)."""
    body = service.for_certificate(
        certificate_id=certificate_id, user_id=current_user_id(), is_admin=is_admin()
    )
    return _answer(body, cache_control="private, no-store")


@blp.route("/api/me/badges/<string:code>/credential")
@auth_required()
@blp.response(200, SignedCredentialSchema, description=JSON_OR_JWT)
@blp.alt_response(404, description="You have not earned that badge (or there is no such badge)")
def badge_credential(code):
    """One of your earned badges as a signed Open Badges 3.0 credential."""
    return _answer(service.for_badge(user_id=current_user_id(), code=code), cache_control="private, no-store")


@blp.route("/api/credentials/status/<int:list_id>")
@blp.response(
    200,
    SignedCredentialSchema,
    description="The Compact JWS (application/vc+jwt); with `Accept: application/json` this JSON",
)
@blp.alt_response(404, description="No such status list")
def status_list(list_id):
    """The signed Bitstring Status List of revoked credentials (a VC-JWT unless JSON is asked for)."""
    body = service.status_list_credential(list_id=list_id)
    response = _answer(body, default_jwt=True, cache_control="public, max-age=60")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blp.route("/.well-known/jwks.json")
@blp.response(200, {"type": "object"}, description="JSON Web Key Set (RFC 7517)")
def jwks():
    """The public keys that verify the platform's credentials, retired ones included."""
    return _public(keyring().jwks())


@blp.route("/.well-known/did.json")
@blp.response(200, {"type": "object"}, description="did:web DID document")
def did_document():
    """The platform's did:web document (its id is the credentials' issuer id)."""
    return _public(keyring().did_document())
