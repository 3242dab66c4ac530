"""Certificate routes: the student's list, one certificate, download, public verification, admin re-render."""

from __future__ import annotations

from sqlalchemy import select

from common.admin.models import AuditLog
from common.certificates.models import Certificate
from common.db import db
from common.jobs.models import Job
from common.storage import get_storage
from tests.factories import auth_headers, make_certificate, make_course, make_user

BASE = "http://testserver.local"
FAKE_PDF = b"%PDF-1.4\n% a stored certificate\n%%EOF\n"


def _ready(certificate: Certificate) -> Certificate:
    """Mark a certificate rendered with a stand-in file (real Chromium renders are tested elsewhere)."""
    key = f"certificates/{certificate.id}.pdf"
    get_storage().put(key, FAKE_PDF, "application/pdf")
    certificate.status, certificate.storage_key = "ready", key
    db.session.commit()
    return certificate


def test_my_certificates_lists_own_with_status_and_links(client, student, instructor):
    courses = [make_course(instructor, title=f"Course {t}") for t in "ABC"]
    pending = make_certificate(student, courses[0])
    failed = make_certificate(student, courses[1], status="failed")
    ready = _ready(make_certificate(student, courses[2]))
    make_certificate(make_user(), courses[0])  # someone else's
    resp = client.get("/api/me/certificates", headers=auth_headers(student))
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["total"], body["page"], body["pages"]) == (3, 1, 1)
    by_id = {item["id"]: item for item in body["items"]}
    assert set(by_id) == {pending.id, failed.id, ready.id}
    assert {by_id[pending.id]["status"], by_id[failed.id]["status"], by_id[ready.id]["status"]} == {
        "pending",
        "failed",
        "ready",
    }
    item = by_id[ready.id]
    assert item["cert_url"] == f"{BASE}/api/certificates/{ready.id}/download"
    assert item["verification_url"] == f"{BASE}/api/certificates/verify/{ready.verification_code}"
    assert (item["user_id"], item["course_id"], item["course_title"], item["learner_name"]) == (
        student.id,
        courses[2].id,
        "Course C",
        student.name,
    )
    assert item["valid"] is True and item["issue_date"].endswith("Z") and item["revoked_at"] is None
    assert by_id[pending.id]["cert_url"] is None and by_id[failed.id]["cert_url"] is None
    assert "error" not in item and "storage_key" not in item


def test_my_certificates_paginates(client, student, instructor):
    for title in "ABC":
        make_certificate(student, make_course(instructor, title=title))
    resp = client.get("/api/me/certificates?per_page=2&page=2", headers=auth_headers(student))
    body = resp.get_json()
    assert (body["total"], body["pages"], len(body["items"])) == (3, 2, 1)
    assert 'rel="prev"' in resp.headers["Link"]
    assert client.get("/api/me/certificates?per_page=0", headers=auth_headers(student)).status_code == 422
    assert client.get("/api/me/certificates?per_page=101", headers=auth_headers(student)).status_code == 422


def test_my_certificates_refuses_anonymous_and_other_roles(client, instructor, admin):
    assert client.get("/api/me/certificates").status_code == 401
    assert client.get("/api/me/certificates", headers=auth_headers(instructor)).status_code == 403


def test_get_one_certificate_for_owner_and_admin_only(client, student, instructor, admin):
    cert = make_certificate(student, make_course(instructor))
    assert (
        client.get(f"/api/certificates/{cert.id}", headers=auth_headers(student)).get_json()["id"] == cert.id
    )
    assert client.get(f"/api/certificates/{cert.id}", headers=auth_headers(admin)).status_code == 200
    for who in (make_user(), instructor):
        resp = client.get(f"/api/certificates/{cert.id}", headers=auth_headers(who))
        assert resp.status_code == 404 and resp.get_json()["code"] == 404
    assert client.get("/api/certificates/999999", headers=auth_headers(admin)).status_code == 404
    assert client.get(f"/api/certificates/{cert.id}").status_code == 401


def test_download_for_owner_and_admin(client, student, instructor, admin):
    cert = _ready(make_certificate(student, make_course(instructor)))
    for who in (student, admin):
        resp = client.get(f"/api/certificates/{cert.id}/download", headers=auth_headers(who))
        assert resp.status_code == 200
        assert resp.mimetype == "application/pdf" and resp.data == FAKE_PDF
        assert resp.headers["Content-Disposition"] == f'attachment; filename="certificate-{cert.id}.pdf"'
        assert "no-store" in resp.headers["Cache-Control"]


def test_download_hidden_from_others_and_anonymous(client, student, instructor):
    cert = _ready(make_certificate(student, make_course(instructor)))
    for who in (make_user(), instructor):  # another student; even the course's instructor
        resp = client.get(f"/api/certificates/{cert.id}/download", headers=auth_headers(who))
        assert resp.status_code == 404 and resp.mimetype == "application/json"
    assert client.get(f"/api/certificates/{cert.id}/download").status_code == 401
    assert client.get("/api/certificates/999999/download", headers=auth_headers(student)).status_code == 404


def test_download_conflicts_while_not_ready_and_after_revocation(client, student, instructor, admin):
    course = make_course(instructor)
    pending = make_certificate(student, course)
    failed = make_certificate(student, make_course(instructor), status="failed")
    for cert in (pending, failed):
        resp = client.get(f"/api/certificates/{cert.id}/download", headers=auth_headers(student))
        assert resp.status_code == 409 and "not ready" in resp.get_json()["message"]
    revoked = _ready(make_certificate(student, make_course(instructor), revoked=True))
    resp = client.get(f"/api/certificates/{revoked.id}/download", headers=auth_headers(student))
    assert resp.status_code == 409 and "revoked" in resp.get_json()["message"]
    assert (
        client.get(f"/api/certificates/{revoked.id}/download", headers=auth_headers(admin)).status_code == 200
    )


def test_verify_valid_revoked_and_unknown(client, student, instructor):
    course = make_course(instructor, title="Data Science 101")
    valid = make_certificate(student, course, verification_code="valid-code-123")
    resp = client.get("/api/certificates/verify/valid-code-123")  # public: no token
    assert resp.status_code == 200
    body = resp.get_json()
    assert body == {
        "verification_code": "valid-code-123",
        "valid": True,
        "status": "valid",
        "learner_name": student.name,
        "course_title": "Data Science 101",
        "instructor_name": instructor.name,
        "issue_date": body["issue_date"],
        "revoked_at": None,
        "credential": body["credential"],  # the signed Open Badges credential (tests/web/test_credentials.py)
    }
    assert body["issue_date"].endswith("Z") and body["credential"]["id"].startswith("urn:uuid:")
    make_certificate(
        make_user(name="Refunded Learner"), course, revoked=True, verification_code="revoked-code"
    )
    body = client.get("/api/certificates/verify/revoked-code").get_json()
    assert (body["valid"], body["status"], body["learner_name"]) == (False, "revoked", "Refunded Learner")
    assert body["revoked_at"].endswith("Z")
    resp = client.get("/api/certificates/verify/no-such-code")
    assert resp.status_code == 404 and resp.get_json()["code"] == 404
    assert client.get("/api/certificates/verify/" + "x" * 300).status_code == 404
    assert valid.user_id == student.id  # the public view shows no ids or emails
    assert "user_id" not in body and "email" not in str(body)


def test_verify_reflects_revoke_for(client, student, instructor):
    from common.certificates.service import revoke_for

    course = make_course(instructor)
    make_certificate(student, course, verification_code="to-be-refunded")
    assert client.get("/api/certificates/verify/to-be-refunded").get_json()["valid"] is True
    revoke_for(user_id=student.id, course_id=course.id, reason="refund")
    db.session.commit()
    assert client.get("/api/certificates/verify/to-be-refunded").get_json()["status"] == "revoked"
    mine = client.get("/api/me/certificates", headers=auth_headers(student)).get_json()["items"][0]
    assert mine["valid"] is False and mine["revoked_at"] is not None


def test_admin_rerender_accepts_and_tracks_a_job(client, student, instructor, admin):
    cert = make_certificate(student, make_course(instructor), status="failed")
    resp = client.post(f"/api/admin/certificates/{cert.id}/render", headers=auth_headers(admin))
    assert resp.status_code == 202
    body = resp.get_json()
    assert body["status"] == "queued" and body["status_url"].endswith(f"/api/jobs/{body['job_id']}")
    assert resp.headers["Location"] == body["status_url"]
    job = db.session.get(Job, body["job_id"])
    assert (job.kind, job.owner_id, job.params) == (
        "certificate_render",
        admin.id,
        {"certificate_id": cert.id},
    )
    db.session.expire_all()
    assert db.session.get(Certificate, cert.id).status in (
        "pending",
        "ready",
    )  # a worker may already be on it
    assert db.session.execute(select(AuditLog.action)).scalar_one() == "certificate.rerender"
    assert client.get(body["status_url"], headers=auth_headers(admin)).status_code == 200


def test_admin_rerender_refuses_others(client, student, instructor, admin):
    cert = make_certificate(student, make_course(instructor), status="failed")
    assert client.post(f"/api/admin/certificates/{cert.id}/render").status_code == 401
    for who in (student, instructor):
        assert (
            client.post(f"/api/admin/certificates/{cert.id}/render", headers=auth_headers(who)).status_code
            == 403
        )
    assert (
        client.post("/api/admin/certificates/999999/render", headers=auth_headers(admin)).status_code == 404
    )
    db.session.expire_all()
    assert db.session.get(Certificate, cert.id).status == "failed"
    assert db.session.execute(select(Job)).first() is None


def test_openapi_documents_the_pdf_download(client):
    spec = client.get("/api/openapi.json").get_json()
    download = spec["paths"]["/api/certificates/{certificate_id}/download"]["get"]
    assert "application/pdf" in download["responses"]["200"]["content"]
    assert {"404", "409"} <= set(download["responses"])
    assert "/api/certificates/verify/{verification_code}" in spec["paths"]
    assert spec["paths"]["/api/admin/certificates/{certificate_id}/render"]["post"]["summary"]
