"""Broker unreachable as a write that starts a job arrives: 503, nothing half-done, swept later (issue 12)."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from common.db import db
from common.jobs import service as jobs
from common.jobs.models import Job
from common.learning.models import Enrollment
from common.payments.models import Payment
from tests.factories import auth_headers, make_course
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def app_without_broker(app, razorpay):
    from tests.conftest import TEST_REDIS_URL
    from web.app import create_app

    broken = create_app(
        {
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed_port()}/0",
            "CELERY_TASK_ALWAYS_EAGER": False,
            "RATELIMIT_STORAGE_URI": TEST_REDIS_URL,
            "RAZORPAY_API_BASE": razorpay.url,
            "RAZORPAY_TIMEOUT_SECONDS": 5,
        }
    )
    yield broken
    app.extensions["celery"].set_default()


def verify(client, student, checkout):
    return client.post("/api/payments/verify", json=checkout, headers=auth_headers(student))


def state():
    db.session.expire_all()
    return (
        db.session.execute(select(Payment)).scalar_one(),
        db.session.execute(select(Job)).scalars().all(),
        db.session.execute(select(Enrollment)).scalars().all(),
    )


def test_verify_with_the_broker_down_is_a_503_and_the_sweeper_finishes_it(
    app, client, razorpay, celery_worker, app_without_broker, student, instructor
):
    course = make_course(instructor, price=9900)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    checkout = razorpay.state.checkout(order_id)
    with app_without_broker.app_context():
        broken = app_without_broker.test_client()
        first = verify(broken, student, checkout)
        again = verify(broken, student, checkout)  # the client retries: still no broker, still no dead job
    for response in (first, again):
        assert response.status_code == 503, response.get_json()
        body = response.get_json()
        assert body["code"] == 503 and "queue" in body["message"].lower()
        assert response.headers["Retry-After"]
    payment, [job], enrollments = state()
    assert payment.payment_id == checkout["razorpay_payment_id"] and payment.status == "created"
    assert job.status == "queued" and job.enqueued_at is None and job.task_name == "payments.fulfil_order"
    assert enrollments == []
    assert razorpay.state.seen("GET", "/v1/payments/") == 0
    # The broker is back (the healthy app): the sweeper sends what never reached it.
    assert task(app, "jobs.sweep").apply(kwargs={"older_than_seconds": 0}).get() == 1
    wait_for(lambda: state()[1][0].status == "succeeded", timeout=30)
    payment, [job], enrollments = state()
    assert payment.status == "paid" and len(enrollments) == 1 and job.enqueued_at is not None
    assert jobs.sweep_unsent(older_than_seconds=0) == 0


def test_a_retry_once_the_broker_is_back_sends_the_same_job(
    app, client, razorpay, celery_worker, app_without_broker, student, instructor
):
    course = make_course(instructor, price=9900)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    checkout = razorpay.state.checkout(order_id)
    with app_without_broker.app_context():
        assert verify(app_without_broker.test_client(), student, checkout).status_code == 503
    app.extensions["celery"].set_default()
    response = verify(client, student, checkout)
    assert response.status_code == 202
    _, [job], _ = state()
    assert response.get_json()["job_id"] == job.id and job.enqueued_at is not None
    wait_for(lambda: state()[1][0].status == "succeeded", timeout=30)  # the worker fulfils it
    assert state()[0].status == "paid"


def test_refund_request_with_the_broker_down_is_a_503_then_swept(
    app, client, razorpay, app_without_broker, student, admin, instructor, eager_tasks
):
    course = make_course(instructor, price=9900)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    checkout = razorpay.state.checkout(order_id)
    assert verify(client, student, checkout).status_code == 200  # eager: paid at once
    payment_id = state()[0].id
    with app_without_broker.app_context():
        response = app_without_broker.test_client().post(
            f"/api/admin/payments/{payment_id}/refund", headers=auth_headers(admin)
        )
    assert response.status_code == 503
    payment, all_jobs, _ = state()
    assert payment.status == "paid"
    [refund_job] = [j for j in all_jobs if j.kind == "payment_refund"]
    assert refund_job.status == "queued" and refund_job.enqueued_at is None
    app.extensions["celery"].set_default()
    assert jobs.sweep_unsent(older_than_seconds=0) == 1  # eager here: the refund runs in-process
    payment, _, [enrollment] = state()
    assert payment.status == "refunded" and enrollment.status == "revoked"


def test_completing_a_course_with_the_broker_down_keeps_the_completion_and_the_sweep_renders(
    app, celery_worker, app_without_broker, student, instructor
):
    from common.catalog.models import Lesson
    from common.certificates import service as certificates
    from common.certificates.models import Certificate
    from tests.factories import enroll

    course = make_course(instructor, lessons=1)
    enroll(student, course)
    [lesson_id] = db.session.execute(select(Lesson.id).where(Lesson.course_id == course.id)).scalars().all()
    with app_without_broker.app_context():
        response = app_without_broker.test_client().post(
            f"/api/lessons/{lesson_id}/complete", headers=auth_headers(student)
        )
    assert response.status_code == 200 and response.get_json()["course_newly_completed"] is True
    db.session.expire_all()
    certificate = db.session.execute(select(Certificate)).scalar_one()
    assert certificate.status == "pending" and certificate.render_attempts == 0  # its message never left
    app.extensions["celery"].set_default()
    assert certificates.requeue_stuck(older_than_seconds=0) == 1

    def ready():
        db.session.expire_all()
        return db.session.get(Certificate, certificate.id).status == "ready"

    wait_for(ready, timeout=60)
