"""Credential schemas: a signed credential with its decoded JSON, and the admin revocation body."""

import marshmallow as ma

from web.fields import Text


class SignedCredentialSchema(ma.Schema):
    id = ma.fields.String(
        metadata={"description": "the credential's id (urn:uuid:... or the status list URL)"}
    )
    media_type = ma.fields.String(metadata={"description": "application/vc+jwt, the media type of `jwt`"})
    jwt = ma.fields.String(
        metadata={"description": "the Compact JWS (VC-JWT, EdDSA); verify it with /.well-known/jwks.json"}
    )
    credential = ma.fields.Dict(
        keys=ma.fields.String(),
        # JSON-LD members: strings, arrays and objects as OB 3.0 defines them.
        values=ma.fields.Raw(
            metadata={"anyOf": [{"type": "string"}, {"type": "array", "items": {}}, {"type": "object"}]}
        ),
        metadata={"description": "the decoded OpenBadgeCredential (the JWT payload without its claims)"},
    )


class RevokeArgs(ma.Schema):
    # The same edge rule as every other admin reason (trimmed, not blank, no NUL); 500 = the column.
    reason = Text(required=True, max_length=500)
