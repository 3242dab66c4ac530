"""Payments API, POST /admin/payments/{id}/refund: access revoked, pending refunds, Razorpay failures."""

from __future__ import annotations

from sqlalchemy import func, select

from common.admin.models import AuditLog
from common.catalog.models import Course
from common.db import db
from common.jobs.models import Job
from tests.factories import auth_headers
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403
from tests.standins.razorpay_fixtures import PRICE
from tests.web.payments_api import buy, enrollments, order, payments, refund

# --- refunds -------------------------------------------------------------------------------------


def test_admin_refund_revokes_access_and_shows_in_history(
    client, razorpay, student, admin, course, eager_tasks
):
    payment = buy(client, razorpay, student, course)
    response = refund(client, admin, payment.id)
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    db.session.expire_all()
    assert db.session.get(Job, job_id).status == "succeeded"
    [row] = payments()
    assert row.status == "refunded" and row.refund_id.startswith("rfnd_") and row.refunded_at
    [enrollment] = enrollments()
    assert enrollment.status == "revoked" and db.session.get(Course, course.id).enrollment_count == 0
    history = client.get("/api/payments/history", headers=auth_headers(student)).get_json()
    assert history["items"][0]["status"] == "refunded" and history["items"][0]["refund_id"] == row.refund_id
    remote = razorpay.state.payments[row.payment_id]
    assert remote["status"] == "refunded" and remote["amount_refunded"] == PRICE
    audit = db.session.execute(select(AuditLog)).scalar_one()
    assert (audit.actor_id, audit.action, audit.object_id) == (admin.id, "payment.refund", str(row.id))
    assert refund(client, admin, payment.id).status_code == 409
    # A refunded student may buy the course again.
    assert order(client, student, course.id).status_code == 201


def test_refund_pending_at_razorpay_revokes_when_processed(
    client, razorpay, student, admin, course, eager_tasks
):

    payment = buy(client, razorpay, student, course)
    razorpay.state.refund_mode = "pending"
    job_id = refund(client, admin, payment.id).get_json()["job_id"]
    [row] = payments()
    assert row.status == "paid" and row.refund_id and row.refund_requested_at
    assert db.session.get(Job, job_id).status == "succeeded"
    assert enrollments()[0].status == "active"
    assert refund(client, admin, payment.id).status_code == 409  # already under way
    razorpay.state.process_refund(row.refund_id)
    body, headers = webhook_request(razorpay, "refund.processed", refund_id=row.refund_id)
    assert client.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
    assert payments()[0].status == "refunded" and enrollments()[0].status == "revoked"


def test_refund_refusals(client, razorpay, student, admin, instructor, course):
    payment_id = order(client, student, course.id).get_json()["id"]
    assert refund(client, admin, payment_id).status_code == 409  # not paid
    assert refund(client, admin, 999999).status_code == 404
    assert refund(client, student, payment_id).status_code == 403
    assert refund(client, instructor, payment_id).status_code == 403
    assert client.post(f"/api/admin/payments/{payment_id}/refund").status_code == 401
    assert db.session.execute(select(func.count()).select_from(Job)).scalar_one() == 0


def test_refund_job_when_razorpay_fails(client, razorpay, student, admin, course, eager_tasks):
    payment = buy(client, razorpay, student, course)
    razorpay.state.set_fault("server_error")
    job_id = refund(client, admin, payment.id).get_json()["job_id"]
    db.session.expire_all()
    assert db.session.get(Job, job_id).status == "failed"
    [row] = payments()
    assert row.status == "paid" and row.refund_id is None and row.refund_requested_at is not None
    # Reconcile sees Razorpay never refunded it and lets the admin ask again.
    razorpay.state.clear_fault()
    from common.flows.payment_events import reconcile

    assert reconcile(older_than_seconds=0)["refunded"] == 0
    assert payments()[0].refund_requested_at is None
    assert refund(client, admin, payment.id).status_code == 202
    assert payments()[0].status == "refunded"


def test_refund_task_retry_after_a_lost_answer(app, client, razorpay, student, admin, course, eager_tasks):
    from common.payments import service

    payment = buy(client, razorpay, student, course)
    razorpay.state.create_refund(payment.payment_id, {})  # refunded at Razorpay, we never heard
    job = service.request_refund(payment_id=payment.id, admin_id=admin.id)
    task(app, "payments.refund").apply(args=[job.id])
    assert payments()[0].status == "refunded" and enrollments()[0].status == "revoked"
