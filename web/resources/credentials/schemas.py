"""Credential schemas: a signed credential with its decoded JSON, and the admin revocation body."""

import marshmallow as ma


class SignedCredentialSchema(ma.Schema):
    id = ma.fields.String(
        metadata={"description": "the credential's id (urn:uuid:... or the status list URL)"}
    )
    media_type = ma.fields.String(metadata={"description": "application/vc+jwt, the media type of `jwt`"})
    jwt = ma.fields.String(
        metadata={"description": "the Compact JWS (VC-JWT, EdDSA); verify it with /.well-known/jwks.json"}
    )
    credential = ma.fields.Dict(
        metadata={"description": "the decoded OpenBadgeCredential (JWT payload minus claims)"}
    )


class RevokeArgs(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
