"""Certificate rules: issue once on completion, render to storage, list, download, verify, revoke."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from common.accounts.models import User
from common.admin import audit
from common.catalog.models import Course
from common.certificates.models import Certificate
from common.certificates.renderer import RenderError, certificate_html, renderer
from common.db import db, get_owned, insert_ignore, utcnow
from common.errors import InvalidState, ServiceUnavailable, not_found
from common.jobs import service as jobs
from common.pagination import Page, paginate
from common.storage import StorageError, StorageNotFound, get_storage

log = logging.getLogger(__name__)

RENDER_TASK = "certificates.render"
PDF_CONTENT_TYPE = "application/pdf"


def _public_url(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"] + path


def download_url(certificate: Certificate) -> str:
    """The absolute URL a client downloads the PDF from (owner or admin, with a token)."""
    return _public_url(f"/api/certificates/{certificate.id}/download")


def verification_url(certificate: Certificate) -> str:
    """The public verification link printed (and QR-coded) on the certificate."""
    return _public_url(f"/api/certificates/verify/{certificate.verification_code}")


def storage_key(certificate: Certificate) -> str:
    return f"certificates/{certificate.id}.pdf"


def _find(user_id: int, course_id: int) -> Certificate | None:
    return db.session.execute(
        select(Certificate).where(Certificate.user_id == user_id, Certificate.course_id == course_id)
    ).scalar_one_or_none()


def _enqueue_render(certificate_id: int, job_id: str | None = None) -> None:
    try:
        jobs.enqueue(RENDER_TASK, certificate_id, job_id)
    except Exception:
        # The broker being down must not undo a committed completion: the row stays `pending`
        # and an admin can re-trigger the render (POST /api/admin/certificates/{id}/render).
        log.exception("could not queue the render of certificate %s", certificate_id)


def request_certificate(*, user_id: int, course_id: int) -> Certificate:
    """Issue the course's certificate for the user once and queue its render (after commit).

    Called by the completion and purchase flows right after they committed a completion. The
    (user, course) unique key makes concurrent calls issue exactly one certificate, and only the
    call that inserted it queues the render. Learner, course and instructor names are snapshotted. A
    certificate revoked earlier (refund) is reinstated: completing the course again re-earns it.
    """
    certificate = _find(user_id, course_id)
    if certificate is not None:
        if certificate.revoked_at is not None:
            certificate.revoked_at = None
            certificate.revoke_reason = None
            db.session.commit()
        return certificate
    user = db.session.get(User, user_id)
    if user is None:
        raise not_found("User", user_id)
    course = db.session.get(Course, course_id)
    if course is None:
        raise not_found("Course", course_id)
    inserted = insert_ignore(
        Certificate,
        user_id=user_id,
        course_id=course_id,
        learner_name=user.name[:120],
        course_title=course.title[:200],
        instructor_name=course.instructor.name[:120],
        verification_code=secrets.token_urlsafe(24),
        status="pending",
        issue_date=utcnow(),
    )
    db.session.commit()
    certificate = _find(user_id, course_id)
    if inserted:
        _enqueue_render(certificate.id)
    return certificate


def revoke_for(*, user_id: int, course_id: int, reason: str) -> bool:
    """Revoke the user's certificate for the course (e.g. after a refund); True if one was revoked.

    Runs in the caller's unit of work (no commit). The PDF stays in storage; verification reports it
    revoked from now on and the owner can no longer download it.
    """
    return bool(
        db.session.execute(
            update(Certificate)
            .where(
                Certificate.user_id == user_id,
                Certificate.course_id == course_id,
                Certificate.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow(), revoke_reason=(reason or "revoked")[:500])
        ).rowcount
    )


def render_certificate(
    *, certificate_id: int, final_attempt: bool = True, job_id: str | None = None
) -> Certificate | None:
    """Render the certificate's PDF into storage and mark it ready; idempotent.

    A certificate already `ready` with its file in storage is left alone (a redelivered task does
    nothing). On failure the error is saved and RenderError/StorageError re-raised for the caller's
    retry; after the final attempt the certificate is `failed` (an admin may re-trigger it).
    """
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        if job_id:
            jobs.fail(job_id, f"Certificate {certificate_id} not found")
        return None
    storage = get_storage()
    if job_id and not jobs.claim(job_id):
        db.session.rollback()
        return None  # finished, or another worker holds it under a live lease
    key = storage_key(certificate)
    if certificate.status == "ready" and certificate.storage_key and storage.exists(certificate.storage_key):
        if job_id:
            jobs.succeed(
                job_id, result={"certificate_id": certificate.id}, result_url=download_url(certificate)
            )
        return certificate
    bound = current_app.config["CERT_MAX_RENDER_ATTEMPTS"]
    if certificate.render_attempts >= bound:  # e.g. a message redelivered after every crash: stop here
        error = (
            f"gave up after {certificate.render_attempts} render attempts: "
            f"{certificate.error or 'no error saved'}"
        )
        _give_up(certificate, error)
        if job_id:
            jobs.fail(job_id, error)
        return certificate
    certificate.render_attempts += 1
    certificate.last_attempt_at = utcnow()
    db.session.commit()
    html = certificate_html(
        learner_name=certificate.learner_name,
        course_title=certificate.course_title,
        instructor_name=certificate.instructor_name,
        issue_date=certificate.issue_date,
        verification_code=certificate.verification_code,
        verification_url=verification_url(certificate),
    )
    try:
        pdf = renderer.render_pdf(
            html,
            chromium_path=current_app.config["CHROMIUM_PATH"],
            timeout_seconds=current_app.config["CERT_RENDER_TIMEOUT_SECONDS"],
        )
        storage.put(key, pdf, PDF_CONTENT_TYPE)
    except (RenderError, StorageError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        db.session.rollback()
        db.session.execute(
            update(Certificate)
            .where(Certificate.id == certificate_id, Certificate.status != "ready")
            .values(error=error, status="failed" if final_attempt else "pending")
        )
        db.session.commit()
        if job_id:
            if final_attempt:
                jobs.fail(job_id, error)
            else:
                jobs.release(job_id)  # the retry claims it again
        raise
    certificate.status = "ready"
    certificate.storage_key = key
    certificate.error = None
    certificate.rendered_at = utcnow()
    db.session.commit()
    if job_id:
        jobs.succeed(job_id, result={"certificate_id": certificate.id}, result_url=download_url(certificate))
    return certificate


def rerender(*, certificate_id: int, actor_id: int):
    """Admin: render the certificate again (failed or not); returns the job that tracks it."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise not_found("Certificate", certificate_id)
    before = {"status": certificate.status, "error": certificate.error}
    certificate.status = "pending"
    certificate.error = None
    certificate.render_attempts = 0
    audit.record(
        actor_id=actor_id,
        action="certificate.rerender",
        object_type="certificate",
        object_id=certificate_id,
        before=before,
        after={"status": "pending", "error": None},
    )
    job, _ = jobs.create_job(
        kind="certificate_render", owner_id=actor_id, params={"certificate_id": certificate_id}
    )  # commits the lot
    _enqueue_render(certificate_id, job.id)
    db.session.refresh(job)
    return job


def _give_up(certificate: Certificate, error: str) -> None:
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id, Certificate.status == "pending")
        .values(status="failed", error=error[:1000])
    )
    db.session.commit()
    log.error("certificate %s: %s", certificate.id, error)


def retry_backoff(attempts: int) -> timedelta:
    """How long the sweep waits after a certificate's last render attempt: 10 min, doubling, 6 h at most."""
    return timedelta(seconds=min(6 * 3600, 600 * 2 ** max(0, attempts - 1)))


def requeue_stuck(*, older_than_seconds: int = 600) -> int:
    """Queue the render of certificates still `pending` after this long; returns how many.

    A lost message (broker down at issue time, a purged queue) must not leave a learner without
    their PDF. Renders are idempotent, so re-queuing one that is merely slow costs a render only.
    One whose render was attempted recently waits (backoff grows with its attempts); one attempted
    CERT_MAX_RENDER_ATTEMPTS times is marked `failed` (admins see it in `failed_certificates`).
    """
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    bound = current_app.config["CERT_MAX_RENDER_ATTEMPTS"]
    stuck = (
        db.session.execute(
            select(Certificate)
            .where(Certificate.status == "pending", Certificate.issue_date < cutoff)
            .order_by(Certificate.id)
            .limit(1000)
        )
        .scalars()
        .all()
    )
    due = []
    for certificate in stuck:
        if certificate.render_attempts >= bound:
            _give_up(
                certificate,
                f"gave up after {certificate.render_attempts} render attempts: "
                f"{certificate.error or 'no error saved'}",
            )
        elif certificate.last_attempt_at is None or certificate.last_attempt_at <= now - retry_backoff(
            certificate.render_attempts
        ):
            due.append(certificate.id)
    db.session.rollback()
    for certificate_id in due:
        _enqueue_render(certificate_id)
    return len(due)


def failed_certificates(*, limit: int = 100) -> list[Certificate]:
    """Certificates whose render failed for good, newest first (for an admin list; re-render to retry)."""
    return list(
        db.session.execute(
            select(Certificate)
            .where(Certificate.status == "failed")
            .order_by(Certificate.id.desc())
            .limit(limit)
        ).scalars()
    )


def list_for_user(*, user_id: int, page: int, per_page: int) -> Page:
    """The user's certificates, newest first."""
    stmt = (
        select(Certificate)
        .where(Certificate.user_id == user_id)
        .order_by(Certificate.issue_date.desc(), Certificate.id.desc())
    )
    return paginate(stmt, page=page, per_page=per_page)


def get_for(*, certificate_id: int, user_id: int, is_admin: bool) -> Certificate:
    """The certificate if the caller owns it or is an admin; NotFound otherwise (never leak existence)."""
    return get_owned(Certificate, certificate_id, user_id=user_id, is_admin=is_admin)


def get_pdf_for(*, certificate_id: int, user_id: int, is_admin: bool) -> tuple[Certificate, bytes]:
    """(certificate, PDF bytes) for the owner or an admin.

    NotFound for anyone else; InvalidState (409) while the render is pending or failed, and for
    the owner once the certificate is revoked.
    """
    certificate = get_for(certificate_id=certificate_id, user_id=user_id, is_admin=is_admin)
    if certificate.revoked_at is not None and not is_admin:
        raise InvalidState(f"Certificate {certificate_id} was revoked")
    if certificate.status != "ready" or not certificate.storage_key:
        raise InvalidState(f"Certificate {certificate_id} is not ready yet (status: {certificate.status})")
    try:
        return certificate, get_storage().get(certificate.storage_key)
    except StorageNotFound as exc:
        raise InvalidState(
            f"Certificate {certificate_id} file is missing; ask an admin to render it again"
        ) from exc
    except StorageError as exc:
        log.warning("storage unavailable: %s", exc)
        raise ServiceUnavailable(
            "Certificate storage is unavailable, try again shortly", headers={"Retry-After": "5"}
        ) from exc


def verify(*, verification_code: str) -> Certificate:
    """The certificate with that code (public check); NotFound for an unknown code."""
    certificate = db.session.execute(
        select(Certificate).where(Certificate.verification_code == verification_code)
    ).scalar_one_or_none()
    if certificate is None:
        raise not_found("Certificate", "with that verification code")
    return certificate
