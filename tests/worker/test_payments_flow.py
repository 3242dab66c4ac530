"""End to end with a real Celery worker: order -> Checkout -> verify/webhook -> worker -> enrolled, once."""

from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import select

from common.db import db
from common.jobs.models import Job
from common.learning.models import Enrollment
from common.payments.models import Payment, WebhookEvent
from tests.factories import auth_headers
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403

pytestmark = pytest.mark.slow


def snapshot():
    db.session.rollback()  # a fresh snapshot of what the worker committed
    payments = db.session.execute(select(Payment)).scalars().all()
    enrollments = db.session.execute(select(Enrollment)).scalars().all()
    events = db.session.execute(select(WebhookEvent)).scalars().all()
    return payments, enrollments, events


def settled(expected_events: int = 0):
    def check():
        payments, enrollments, events = snapshot()
        done = [e for e in events if e.status != "received"]
        return payments[0].status == "paid" and enrollments and len(done) >= expected_events

    return check


def test_order_checkout_verify_worker_enrolled(client, razorpay, celery_worker, student, course, order_id):
    checkout = razorpay.state.checkout(order_id)
    response = client.post("/api/payments/verify", json=checkout, headers=auth_headers(student))
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    wait_for(settled())
    wait_for(lambda: db.session.get(Job, job_id, populate_existing=True).status == "succeeded")
    payments, [enrollment], _ = snapshot()
    assert payments[0].payment_id == checkout["razorpay_payment_id"]
    assert (enrollment.user_id, enrollment.course_id, enrollment.payment_id) == (
        student.id,
        course.id,
        payments[0].id,
    )
    job = client.get(f"/api/jobs/{job_id}", headers=auth_headers(student)).get_json()
    assert job["status"] == "succeeded" and job["result"]["enrolled"] is True
    # The student now owns the course: ordering it again is a conflict.
    again = client.post("/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student))
    assert again.status_code == 409


def test_webhook_only_through_the_worker(client, razorpay, celery_worker, order_id):
    razorpay.state.checkout(order_id)
    body, headers = webhook_request(razorpay, "order.paid", order_id=order_id)
    assert client.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
    wait_for(settled(expected_events=1))
    payments, enrollments, events = snapshot()
    assert len(payments) == 1 and len(enrollments) == 1 and events[0].status == "processed"


def test_verify_racing_duplicated_webhooks(razorpay, celery_worker, live_app, student, order_id):
    checkout = razorpay.state.checkout(order_id)
    headers = auth_headers(student)
    url = live_app + "/api/payments/webhook"
    captured = razorpay.state.build_event("payment.captured", order_id=order_id)
    paid = razorpay.state.build_event("order.paid", order_id=order_id)
    answers = {}

    def verify():
        answers["verify"] = requests.post(
            live_app + "/api/payments/verify", json=checkout, headers=headers, timeout=20
        ).status_code

    threads = [
        threading.Thread(target=verify),
        threading.Thread(
            target=lambda: answers.setdefault(
                "captured", razorpay.state.deliver(captured, url=url, times=3, concurrency=3)["statuses"]
            )
        ),
        threading.Thread(
            target=lambda: answers.setdefault(
                "paid", razorpay.state.deliver(paid, url=url, times=3, concurrency=3)["statuses"]
            )
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers["verify"] in (200, 202)
    assert answers["captured"] == [200] * 3 and answers["paid"] == [200] * 3
    wait_for(settled(expected_events=2))
    wait_for(
        lambda: all(
            j.status == "succeeded"
            for j in db.session.execute(select(Job).execution_options(populate_existing=True)).scalars()
        )
    )
    payments, enrollments, events = snapshot()
    assert len(payments) == 1 and len(enrollments) == 1 and len(events) == 2
    assert payments[0].payment_id == checkout["razorpay_payment_id"]


def test_twenty_concurrent_deliveries_with_the_worker(razorpay, celery_worker, live_app, order_id):
    razorpay.state.checkout(order_id)
    event = razorpay.state.build_event("payment.captured", order_id=order_id)
    result = razorpay.state.deliver(event, url=live_app + "/api/payments/webhook", times=20, concurrency=20)
    assert result["statuses"] == [200] * 20
    wait_for(settled(expected_events=1))
    payments, enrollments, events = snapshot()
    assert len(payments) == 1 and len(enrollments) == 1 and len(events) == 1


def test_admin_refund_through_the_worker(client, razorpay, celery_worker, student, admin, order_id):
    checkout = razorpay.state.checkout(order_id)
    client.post("/api/payments/verify", json=checkout, headers=auth_headers(student))
    wait_for(settled())
    payment_id = snapshot()[0][0].id
    response = client.post(f"/api/admin/payments/{payment_id}/refund", headers=auth_headers(admin))
    assert response.status_code == 202

    def refunded():
        payments, enrollments, _ = snapshot()
        return payments[0].status == "refunded" and enrollments[0].status == "revoked"

    wait_for(refunded)
    history = client.get("/api/payments/history", headers=auth_headers(student)).get_json()
    assert history["items"][0]["status"] == "refunded"
