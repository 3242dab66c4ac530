"""End to end with a real Celery worker and real Chromium: complete a course, poll, download, read the PDF."""

from __future__ import annotations

import io
import time

import pypdf
import pytest
from sqlalchemy import func, select

from common.catalog.models import Lesson
from common.certificates.models import Certificate
from common.certificates.service import request_certificate
from common.db import db
from common.learning.models import LessonProgress
from tests.concurrency import run_together
from tests.factories import auth_headers, enroll, make_course, make_user
from tests.netprobe import counting_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def wait_for_status(client, user, wanted: str, timeout: float = 45) -> dict:
    """Poll the student's list like a client would until their (only) certificate reaches `wanted`."""
    deadline = time.monotonic() + timeout
    items = []
    while time.monotonic() < deadline:
        items = client.get("/api/me/certificates", headers=auth_headers(user)).get_json()["items"]
        if items and items[0]["status"] == wanted:
            return items[0]
        time.sleep(0.1)
    raise AssertionError(f"certificate never became {wanted}: {items}")


def _lessons(course) -> list[int]:
    return list(
        db.session.execute(
            select(Lesson.id).where(Lesson.course_id == course.id).order_by(Lesson.id)
        ).scalars()
    )


def test_completing_a_course_renders_a_downloadable_pdf(client, celery_worker, instructor):
    learner = make_user(name="Grace Hopper")
    course = make_course(instructor, title="Compilers from Scratch", lessons=2)
    enroll(learner, course)
    for lesson_id in _lessons(course):
        resp = client.post(f"/api/lessons/{lesson_id}/complete", headers=auth_headers(learner))
        assert resp.status_code == 200
    item = wait_for_status(client, learner, "ready")
    assert item["course_id"] == course.id
    resp = client.get(item["cert_url"].removeprefix("http://testserver.local"), headers=auth_headers(learner))
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_text(resp.data)
    assert "Grace Hopper" in text and "Compilers from Scratch" in text and instructor.name in text
    assert item["verification_code"] in text and item["verification_url"] in text
    verified = client.get(f"/api/certificates/verify/{item['verification_code']}").get_json()
    assert (verified["valid"], verified["learner_name"]) == (True, "Grace Hopper")
    # Exactly one certificate, rendered once.
    certificate = db.session.execute(select(Certificate)).scalar_one()
    assert certificate.render_attempts == 1 and certificate.error is None


def test_concurrent_completions_issue_one_certificate(app, client, celery_worker, student, instructor):
    course = make_course(instructor, lessons=3)
    enroll(student, course)
    lessons = _lessons(course)
    # Two lessons done already; the last two completion calls race (as do repeats of the same lesson).
    db.session.add(LessonProgress(user_id=student.id, lesson_id=lessons[0], course_id=course.id))
    db.session.commit()
    headers = auth_headers(student)

    def complete(lesson_id):
        return lambda: (
            app.test_client().post(f"/api/lessons/{lesson_id}/complete", headers=headers).status_code
        )

    statuses = run_together(app, [complete(lid) for lid in (lessons[1], lessons[2]) * 2])
    assert statuses == [200] * 4
    wait_for_status(client, student, "ready")
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Certificate)).scalar_one() == 1


def test_markup_in_a_name_prints_as_text_and_loads_nothing(
    client, celery_worker, instructor, counting_server
):
    server = counting_server
    name = f"<img src={server.url}/x.png>"
    learner = make_user(name=name)
    course = make_course(instructor, title="<b>Bold</b> & <script>x()</script>")
    enroll(learner, course)
    request_certificate(user_id=learner.id, course_id=course.id)
    item = wait_for_status(client, learner, "ready")
    text = pdf_text(
        client.get(f"/api/certificates/{item['id']}/download", headers=auth_headers(learner)).data
    )
    assert name in text and "<b>Bold</b> & <script>x()</script>" in text
    assert server.hits == []


def test_failed_render_retries_with_backoff_then_fails_and_admin_rerenders(
    app, client, celery_worker, monkeypatch, student, instructor, admin
):
    render_task = app.extensions["celery"].tasks["certificates.render"]
    monkeypatch.setattr(render_task, "max_retries", 1)
    monkeypatch.setitem(app.config, "CHROMIUM_PATH", "/nonexistent/chromium")  # the worker shares this app
    course = make_course(instructor)
    enroll(student, course)
    cert_id = request_certificate(user_id=student.id, course_id=course.id).id
    item = wait_for_status(client, student, "failed")
    assert item["cert_url"] is None
    db.session.expire_all()
    failed = db.session.get(Certificate, cert_id)
    assert failed.render_attempts == 2 and "CHROMIUM_PATH" in failed.error  # first try + one retry
    assert (
        client.get(f"/api/certificates/{cert_id}/download", headers=auth_headers(student)).status_code == 409
    )

    monkeypatch.setitem(app.config, "CHROMIUM_PATH", "")  # Chromium fixed: the admin re-triggers
    resp = client.post(f"/api/admin/certificates/{cert_id}/render", headers=auth_headers(admin))
    assert resp.status_code == 202
    deadline, job = time.monotonic() + 45, {}
    while time.monotonic() < deadline:
        job = client.get(resp.headers["Location"], headers=auth_headers(admin)).get_json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded"
    assert job["result_url"] == f"http://testserver.local/api/certificates/{cert_id}/download"
    item = wait_for_status(client, student, "ready")
    assert client.get(f"/api/certificates/{cert_id}/download", headers=auth_headers(student)).data.startswith(
        b"%PDF"
    )


def test_render_retries_are_bounded_and_backed_off(app):
    """Celery's autoretry: exponential from 5 s with full jitter, never over 5 minutes apart, 4 times."""
    from celery.utils.time import get_exponential_backoff_interval

    from common.certificates.renderer import RenderError
    from common.storage import StorageError

    render = app.extensions["celery"].tasks["certificates.render"]
    assert (render.max_retries, render.retry_backoff, render.retry_backoff_max) == (4, 5, 300)
    assert render.retry_jitter is True and set(render.autoretry_for) == {RenderError, StorageError}
    assert [get_exponential_backoff_interval(5, n, 300) for n in range(8)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        300,
        300,
    ]
