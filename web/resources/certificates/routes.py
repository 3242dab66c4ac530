"""Certificates: the student's list, PDF download, public verification and the admin re-render."""

from __future__ import annotations

from types import SimpleNamespace

from flask import Response
from flask_smorest import Blueprint

from common.certificates import service
from common.certificates.models import Certificate
from common.credentials import service as credentials
from web.auth import auth_required, current_user_id, is_admin
from web.pagination import PaginationArgs, page_response, page_schema
from web.resources.certificates.schemas import CertificateSchema, VerificationSchema
from web.resources.credentials.schemas import RevokeArgs
from web.resources.jobs.schemas import JobAcceptedSchema, accepted

blp = Blueprint("certificates", __name__, url_prefix="/api", description="Course-completion certificates")


@blp.route("/me/certificates")
@auth_required("student")
@blp.arguments(PaginationArgs, location="query")
@blp.response(200, page_schema(CertificateSchema))
def my_certificates(args):
    """Your certificates, newest first, with their render status (pending, ready, failed)."""
    return page_response(service.list_for_user(user_id=current_user_id(), **args))


@blp.route("/certificates/<int:certificate_id>")
@auth_required()
@blp.response(200, CertificateSchema)
@blp.alt_response(404, description="No such certificate, or not yours")
def get_certificate(certificate_id):
    """One certificate with its render status (owner or admin)."""
    return service.get_for(certificate_id=certificate_id, user_id=current_user_id(), is_admin=is_admin())


@blp.route("/certificates/<int:certificate_id>/download")
@auth_required()
@blp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="application/pdf",
    description="The certificate PDF (attachment)",
)
@blp.alt_response(404, description="No such certificate, or not yours")
@blp.alt_response(409, description="Not ready yet (pending or failed), or revoked")
def download_certificate(certificate_id):
    """Download the certificate PDF (owner or admin)."""
    certificate, pdf = service.get_pdf_for(
        certificate_id=certificate_id, user_id=current_user_id(), is_admin=is_admin()
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="certificate-{certificate.id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/certificates/verify/<string:verification_code>")
@blp.response(200, VerificationSchema)
@blp.alt_response(404, description="Unknown verification code")
def verify_certificate(verification_code):
    """Public check of a certificate: learner, course, issue date, whether it is still valid, and its
    signed Open Badges credential (verifiable without this server)."""
    certificate, credential = credentials.for_certificate_code(verification_code=verification_code)
    columns = {column.name: getattr(certificate, column.name) for column in Certificate.__table__.columns}
    return SimpleNamespace(**columns, credential=credential)


@blp.route("/admin/certificates/<int:certificate_id>/render", methods=["POST"])
@auth_required("admin")
@blp.response(202, JobAcceptedSchema)
@blp.alt_response(404, description="No such certificate")
def rerender_certificate(certificate_id):
    """Admin: render a certificate's PDF again (e.g. after a failure); poll the returned job."""
    return accepted(service.rerender(certificate_id=certificate_id, actor_id=current_user_id()))


@blp.route("/admin/certificates/<int:certificate_id>/revoke", methods=["POST"])
@auth_required("admin")
@blp.arguments(RevokeArgs)
@blp.response(200, CertificateSchema)
@blp.alt_response(404, description="No such certificate")
@blp.alt_response(409, description="Already revoked")
def revoke_certificate(args, certificate_id):
    """Admin: revoke a certificate; its credential's bit is set in the published status list."""
    return service.revoke(certificate_id=certificate_id, actor_id=current_user_id(), reason=args["reason"])
