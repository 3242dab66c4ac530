"""Certificate schemas: the owner's view and the public verification answer."""

import marshmallow as ma

from common.certificates import service
from common.credentials import service as credentials
from web.fields import Timestamp
from web.resources.credentials.schemas import SignedCredentialSchema


class CertificateSchema(ma.Schema):
    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    course_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "null once the course was deleted"}
    )
    learner_name = ma.fields.String()
    course_title = ma.fields.String()
    instructor_name = ma.fields.String()
    issue_date = Timestamp()
    status = ma.fields.String(
        metadata={"enum": ["pending", "ready", "failed"], "description": "render status of the PDF"}
    )
    cert_url = ma.fields.Method(
        "_cert_url",
        allow_none=True,
        metadata={
            "type": "string",
            "format": "uri",
            "description": "absolute download URL (needs the owner's or an "
            "admin's token); null until the PDF is ready",
        },
    )
    verification_code = ma.fields.String()
    verification_url = ma.fields.Method(
        "_verification_url",
        metadata={"type": "string", "format": "uri", "description": "public verification link"},
    )
    valid = ma.fields.Method(
        "_valid", metadata={"type": "boolean", "description": "false once revoked (e.g. refunded course)"}
    )
    revoked_at = Timestamp(allow_none=True)
    rendered_at = Timestamp(allow_none=True)
    linkedin_add_url = ma.fields.Method(
        "_linkedin",
        metadata={
            "type": "string",
            "format": "uri",
            "description": "LinkedIn's Add to Profile link, pre-filled with this certificate",
        },
    )
    credential_url = ma.fields.Method(
        "_credential_url",
        metadata={
            "type": "string",
            "format": "uri",
            "description": "the signed Open Badges 3.0 credential (owner or admin)",
        },
    )

    def _linkedin(self, obj):
        return credentials.linkedin_add_url(obj)

    def _credential_url(self, obj):
        return service.credential_url(obj)

    def _cert_url(self, obj):
        return service.download_url(obj) if obj.status == "ready" else None

    def _verification_url(self, obj):
        return service.verification_url(obj)

    def _valid(self, obj):
        return obj.revoked_at is None


class VerificationSchema(ma.Schema):
    verification_code = ma.fields.String()
    valid = ma.fields.Method("_valid", metadata={"type": "boolean"})
    status = ma.fields.Method("_status", metadata={"type": "string", "enum": ["valid", "revoked"]})
    learner_name = ma.fields.String()
    course_title = ma.fields.String()
    instructor_name = ma.fields.String()
    issue_date = Timestamp()
    revoked_at = Timestamp(allow_none=True)
    credential = ma.fields.Nested(
        SignedCredentialSchema,
        allow_none=True,
        metadata={"description": "the signed credential; null if revoked before one was issued"},
    )

    def _valid(self, obj):
        return obj.revoked_at is None

    def _status(self, obj):
        return "valid" if obj.revoked_at is None else "revoked"
