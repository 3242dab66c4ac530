"""Certificate service: issue exactly once, revoke, render to storage with failure bookkeeping, re-render."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import func, select

from common.admin.models import AuditLog
from common.certificates import service
from common.certificates.models import Certificate
from common.certificates.renderer import RenderError
from common.db import db
from common.errors import InvalidState, NotFound, ServiceUnavailable
from common.jobs.models import Job
from common.storage import StorageError
from tests.concurrency import run_together
from tests.factories import enroll, make_certificate, make_course, make_user


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def _count(**where) -> int:
    stmt = select(func.count()).select_from(Certificate)
    for name, value in where.items():
        stmt = stmt.where(getattr(Certificate, name) == value)
    return db.session.execute(stmt).scalar_one()


@pytest.fixture
def course(instructor):
    return make_course(instructor, title="Practical Python")


def test_request_certificate_snapshots_names_once(student, course, instructor):
    enroll(student, course)
    cert = service.request_certificate(user_id=student.id, course_id=course.id)
    assert (cert.user_id, cert.course_id, cert.learner_name, cert.course_title, cert.instructor_name) == (
        student.id,
        course.id,
        student.name,
        "Practical Python",
        instructor.name,
    )
    assert len(cert.verification_code) >= 32 and cert.render_attempts == 0 and cert.revoked_at is None
    # Later renames do not change an issued certificate; a second request returns the same one.
    student.name = "Renamed Later"
    db.session.commit()
    again = service.request_certificate(user_id=student.id, course_id=course.id)
    assert again.id == cert.id and again.learner_name != "Renamed Later"
    assert _count() == 1
    other = service.request_certificate(user_id=make_user().id, course_id=course.id)
    assert other.verification_code != cert.verification_code


def test_request_certificate_for_unknown_user_or_course(student, course):
    with pytest.raises(NotFound):
        service.request_certificate(user_id=999_999, course_id=course.id)
    with pytest.raises(NotFound):
        service.request_certificate(user_id=student.id, course_id=999_999)
    assert _count() == 0


def test_concurrent_requests_issue_exactly_one_certificate(app, course):
    user_id, course_id = make_user().id, course.id

    def request():
        return service.request_certificate(user_id=user_id, course_id=course_id).id

    ids = run_together(app, [request] * 6)
    assert len(ids) == 6 and len(set(ids)) == 1
    assert _count(user_id=user_id, course_id=course_id) == 1


def test_revoke_for_joins_the_callers_unit_of_work_and_reinstates_on_completion(student, course):
    cert = make_certificate(student, course)
    assert service.revoke_for(user_id=student.id, course_id=course.id, reason="refund") is True
    db.session.rollback()  # no commit of its own: the caller's rollback undoes it
    assert db.session.get(Certificate, cert.id).revoked_at is None
    assert service.revoke_for(user_id=student.id, course_id=course.id, reason="refund") is True
    db.session.commit()
    db.session.expire_all()
    revoked = db.session.get(Certificate, cert.id)
    assert revoked.revoked_at is not None and revoked.revoke_reason == "refund"
    assert service.revoke_for(user_id=student.id, course_id=course.id, reason="again") is False
    assert service.revoke_for(user_id=student.id, course_id=999_999, reason="none") is False
    # Bought and completed again: the same certificate (same code) is valid again.
    again = service.request_certificate(user_id=student.id, course_id=course.id)
    assert again.id == cert.id and again.revoked_at is None and again.revoke_reason is None


def test_render_certificate_writes_the_pdf_and_is_idempotent(app, student, course):
    cert = make_certificate(student, course)
    rendered = service.render_certificate(certificate_id=cert.id)
    assert rendered.status == "ready" and rendered.storage_key == f"certificates/{cert.id}.pdf"
    assert rendered.render_attempts == 1 and rendered.error is None and rendered.rendered_at is not None
    path = Path(app.config["STORAGE_DIR"]) / rendered.storage_key
    text = pdf_text(path.read_bytes())
    assert student.name in text and "Practical Python" in text and cert.verification_code in text
    assert f"http://testserver.local/api/certificates/verify/{cert.verification_code}" in text
    # A redelivered task finds it ready and does nothing.
    mtime = path.stat().st_mtime_ns
    assert service.render_certificate(certificate_id=cert.id).render_attempts == 1
    assert path.stat().st_mtime_ns == mtime
    # A ready certificate whose file went missing is rendered again.
    path.unlink()
    assert service.render_certificate(certificate_id=cert.id).render_attempts == 2
    assert path.is_file()
    assert service.render_certificate(certificate_id=999_999) is None


def test_render_failures_keep_pending_until_the_final_attempt(app, monkeypatch, student, course):
    cert = make_certificate(student, course)
    monkeypatch.setitem(app.config, "CHROMIUM_PATH", "/nonexistent/chromium")
    with pytest.raises(RenderError):
        service.render_certificate(certificate_id=cert.id, final_attempt=False)
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert (cert.status, cert.render_attempts) == ("pending", 1)
    assert "ChromiumNotFound" in cert.error and "CHROMIUM_PATH" in cert.error
    with pytest.raises(RenderError):
        service.render_certificate(certificate_id=cert.id, final_attempt=True)
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert (cert.status, cert.render_attempts, cert.storage_key) == ("failed", 2, None)


def test_storage_failure_is_recorded(app, monkeypatch, student, course, tmp_path):
    cert = make_certificate(student, course)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the storage directory should be")
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(blocker))
    with pytest.raises(StorageError):
        service.render_certificate(certificate_id=cert.id, final_attempt=True)
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert cert.status == "failed" and cert.error.startswith("StorageError: cannot write certificates/")


def test_rerender_resets_audits_and_tracks_a_job(admin, student, course):
    cert = make_certificate(student, course, status="failed")
    cert.error, cert.render_attempts = "RenderError: boom", 5
    db.session.commit()
    job = service.rerender(certificate_id=cert.id, actor_id=admin.id)
    assert (job.kind, job.owner_id, job.params) == (
        "certificate_render",
        admin.id,
        {"certificate_id": cert.id},
    )
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert (cert.status, cert.error, cert.render_attempts) == ("pending", None, 0)
    entry = db.session.execute(select(AuditLog)).scalar_one()
    assert (entry.actor_id, entry.action, entry.object_id) == (admin.id, "certificate.rerender", str(cert.id))
    with pytest.raises(NotFound):
        service.rerender(certificate_id=999_999, actor_id=admin.id)
    # The task run for that job finishes it.
    service.render_certificate(certificate_id=cert.id, job_id=job.id)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "succeeded"
    assert job.result_url == f"http://testserver.local/api/certificates/{cert.id}/download"


def test_render_job_fails_on_the_final_attempt_and_for_a_missing_certificate(
    app, monkeypatch, admin, student, course
):
    from common.jobs.service import create_job

    cert = make_certificate(student, course)
    job, _ = create_job(kind="certificate_render", owner_id=admin.id)
    monkeypatch.setitem(app.config, "CHROMIUM_PATH", "/nonexistent/chromium")
    with pytest.raises(RenderError):
        service.render_certificate(certificate_id=cert.id, job_id=job.id, final_attempt=False)
    assert db.session.get(Job, job.id).status == "running"  # a retry is coming
    with pytest.raises(RenderError):
        service.render_certificate(certificate_id=cert.id, job_id=job.id, final_attempt=True)
    db.session.expire_all()
    assert (
        db.session.get(Job, job.id).status == "failed"
        and "CHROMIUM_PATH" in db.session.get(Job, job.id).error
    )
    gone, _ = create_job(kind="certificate_render", owner_id=admin.id)
    assert service.render_certificate(certificate_id=999_999, job_id=gone.id) is None
    assert db.session.get(Job, gone.id).status == "failed"


def test_ready_job_for_an_already_ready_certificate_succeeds(admin, student, course):
    from common.jobs.service import create_job

    cert = make_certificate(student, course)
    service.render_certificate(certificate_id=cert.id)
    job, _ = create_job(kind="certificate_render", owner_id=admin.id)
    service.render_certificate(certificate_id=cert.id, job_id=job.id)
    assert db.session.get(Job, job.id).status == "succeeded"


def test_get_pdf_for_rules(app, monkeypatch, admin, student, course):
    cert = make_certificate(student, course)
    with pytest.raises(InvalidState, match="not ready"):
        service.get_pdf_for(certificate_id=cert.id, user_id=student.id, is_admin=False)
    with pytest.raises(NotFound):
        service.get_pdf_for(certificate_id=cert.id, user_id=make_user().id, is_admin=False)
    service.render_certificate(certificate_id=cert.id)
    _, pdf = service.get_pdf_for(certificate_id=cert.id, user_id=student.id, is_admin=False)
    assert pdf.startswith(b"%PDF")
    service.revoke_for(user_id=student.id, course_id=course.id, reason="refund")
    db.session.commit()
    with pytest.raises(InvalidState, match="revoked"):
        service.get_pdf_for(certificate_id=cert.id, user_id=student.id, is_admin=False)
    assert service.get_pdf_for(certificate_id=cert.id, user_id=admin.id, is_admin=True)[1] == pdf
    (Path(app.config["STORAGE_DIR"]) / f"certificates/{cert.id}.pdf").unlink()
    with pytest.raises(InvalidState, match="missing"):
        service.get_pdf_for(certificate_id=cert.id, user_id=admin.id, is_admin=True)
    # Object storage unreachable: 503, not 500.
    monkeypatch.setitem(app.config, "S3_BUCKET", "certs")
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setitem(app.config, "S3_ACCESS_KEY_ID", "k")
    monkeypatch.setitem(app.config, "S3_SECRET_ACCESS_KEY", "s")
    with pytest.raises(ServiceUnavailable):
        service.get_pdf_for(certificate_id=cert.id, user_id=admin.id, is_admin=True)
