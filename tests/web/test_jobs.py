"""GET /api/jobs/{id}: the owner and admins see a job; everyone else gets 404."""

from __future__ import annotations

from common.jobs import service
from common.jobs.models import Job
from tests.factories import auth_headers, make_user


def test_owner_and_admin_see_the_job(client, student, admin):
    job, created = service.create_job(kind="report", owner_id=student.id, params={"type": "users"})
    assert created
    for user in (student, admin):
        response = client.get(f"/api/jobs/{job.id}", headers=auth_headers(user))
        assert response.status_code == 200
        body = response.get_json()
        assert body["job_id"] == job.id and body["status"] == "queued" and body["kind"] == "report"
        assert body["created_at"].endswith("Z") and body["finished_at"] is None


def test_foreign_and_unknown_jobs_are_404(client, student):
    other = make_user("student")
    job, _ = service.create_job(kind="report", owner_id=other.id)
    assert client.get(f"/api/jobs/{job.id}", headers=auth_headers(student)).status_code == 404
    assert client.get("/api/jobs/not-a-uuid", headers=auth_headers(student)).status_code == 404
    assert client.get(f"/api/jobs/{job.id}").status_code == 401


def test_job_lifecycle_with_conditional_updates(client, student):
    job, _ = service.create_job(kind="export", owner_id=student.id, dedup_key="export:1")
    again, created = service.create_job(kind="export", owner_id=student.id, dedup_key="export:1")
    assert not created and again.id == job.id
    assert service.claim(job.id)
    service.set_progress(job.id, 150)
    assert service.get_job(job.id).progress == 100
    service.succeed(job.id, result={"rows": 3}, result_url="/api/x")
    assert not service.claim(job.id)  # finished jobs are never claimed again
    service.fail(job.id, "late failure must not overwrite success")
    done = client.get(f"/api/jobs/{job.id}", headers=auth_headers(student)).get_json()
    assert done["status"] == "succeeded" and done["progress"] == 100
    assert done["result"] == {"rows": 3} and done["finished_at"]
    assert done["result_url"] == "http://testserver.local/api/x"  # stored as a path, answered absolute


def test_failed_job_records_error(student):
    job, _ = service.create_job(kind="export", owner_id=student.id)
    service.claim(job.id)
    service.fail(job.id, "boom" * 1000)
    stored = service.get_job(job.id)
    assert stored.status == "failed" and len(stored.error) == 2000 and stored.finished_at
    assert stored.__class__ is Job
