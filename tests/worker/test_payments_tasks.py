"""Payment tasks and services at their edges: retries, final failures, odd states, reconciliation."""

from __future__ import annotations

import pytest
from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from common.db import db, utcnow
from common.errors import InvalidState, NotFound
from common.flows import purchase, refund
from common.flows.payment_events import handle_webhook_event, reconcile
from common.jobs.models import Job
from common.jobs.service import create_job
from common.learning.models import Enrollment
from common.payments import gateway, service
from common.payments.models import Payment, WebhookEvent
from common.payments.webhooks import record_webhook
from tests.factories import auth_headers, make_course, make_user
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403
from tests.standins.razorpay_fixtures import PRICE


def payment_row() -> Payment:
    db.session.expire_all()
    return db.session.execute(select(Payment)).scalar_one()


def fulfil_job(student, payment, razorpay_payment_id) -> Job:
    job, _ = create_job(
        kind="payment_fulfilment",
        owner_id=student.id,
        params={"payment_id": payment.id, "razorpay_payment_id": razorpay_payment_id},
    )
    return job


def job_status(job_id):
    db.session.expire_all()
    return db.session.get(Job, job_id)


def paid(razorpay, order_id) -> Payment:
    pay = razorpay.state.checkout(order_id)["razorpay_payment_id"]
    return purchase.mark_paid(payment_row().id, razorpay_payment_id=pay)


def test_retries_are_bounded_and_backed_off(app):
    """Celery's autoretry: exponential from 5 s with full jitter, never over 5 minutes apart, 6 times."""
    for name in ("payments.fulfil_order", "payments.handle_webhook", "payments.refund"):
        retried = task(app, name)
        assert (retried.max_retries, retried.retry_backoff, retried.retry_backoff_max) == (6, 5, 300)
        assert retried.retry_jitter is True
        assert set(retried.autoretry_for) == {
            gateway.GatewayError,
            gateway.GatewayUnavailable,
            OperationalError,
        }
    waits = [
        get_exponential_backoff_interval(5, n, 300, full_jitter=True) for n in range(30) for _ in range(20)
    ]
    assert 0 <= min(waits) and max(waits) <= 300


def test_fulfil_task_retries_transient_errors_then_gives_up(app, razorpay, student, order_id):
    pay = razorpay.state.checkout(order_id)["razorpay_payment_id"]
    job = fulfil_job(student, payment_row(), pay)
    razorpay.state.set_fault("server_error")
    with pytest.raises(gateway.GatewayError):  # called directly, retry() re-raises the cause
        task(app, "payments.fulfil_order").run(job.id)
    assert job_status(job.id).status == "running" and payment_row().status == "created"
    task(app, "payments.fulfil_order").apply(args=[job.id])  # in-process: final attempt, left to reconcile
    assert job_status(job.id).status == "failed" and payment_row().status == "created"
    task(app, "payments.fulfil_order").apply(args=[job.id])  # a finished job is not claimed again
    assert job_status(job.id).status == "failed"


def test_fulfil_task_with_a_vanished_payment_fails_the_job(app, razorpay, student):
    job, _ = create_job(
        kind="payment_fulfilment",
        owner_id=student.id,
        params={"payment_id": 424242, "razorpay_payment_id": "pay_X"},
    )
    task(app, "payments.fulfil_order").apply(args=[job.id])
    assert "not found" in job_status(job.id).error


def test_fulfil_of_a_payment_unknown_to_razorpay_fails_for_good(app, razorpay, student, order_id):
    job = fulfil_job(student, payment_row(), "pay_NeverExisted01")
    task(app, "payments.fulfil_order").apply(args=[job.id])
    assert "does not exist" in job_status(job.id).error and payment_row().status == "created"


def test_settle_refuses_a_payment_of_another_order(razorpay, order_id):
    with pytest.raises(InvalidState):
        purchase.settle(payment_row().id, {"id": "pay_X", "order_id": "order_Other", "status": "captured"})
    with pytest.raises(NotFound):
        purchase.fulfil_payment(payment_id=999, razorpay_payment_id="pay_X")
    assert service.find_by_order(None) is None and service.find_by_razorpay_payment(None) is None


def test_webhook_task_retries_then_leaves_the_event_for_reconcile(app, client, razorpay, order_id):
    razorpay.state.checkout(order_id)
    body, headers = webhook_request(razorpay, "payment.captured", order_id=order_id)
    razorpay.state.set_fault("gateway_error")  # before queueing: a live test worker must not settle it first
    event, created = record_webhook(
        body=body, signature=headers["X-Razorpay-Signature"], event_id=headers["x-razorpay-event-id"]
    )
    assert created
    with pytest.raises(gateway.GatewayError):
        task(app, "payments.handle_webhook").run(event.id)
    assert task(app, "payments.handle_webhook").apply(args=[event.id]).get() == "received"
    razorpay.state.clear_fault()
    assert task(app, "payments.handle_webhook").apply(args=[event.id]).get() == "processed"
    assert handle_webhook_event(event_row_id=event.id) == "processed"  # already handled
    assert handle_webhook_event(event_row_id=987654) == "missing"
    assert payment_row().status == "paid"


def test_webhook_for_a_payment_razorpay_does_not_know_fails_the_event(client, razorpay, order_id):
    event = {
        "entity": "event",
        "event": "payment.captured",
        "contains": ["payment"],
        "payload": {"payment": {"entity": {"id": "pay_Unknown000001", "order_id": order_id}}},
    }
    body, headers = razorpay.state.signed_request(event)
    assert client.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
    stored = db.session.execute(select(WebhookEvent)).scalar_one()
    assert handle_webhook_event(event_row_id=stored.id) == "failed"
    db.session.expire_all()
    assert "does not exist" in db.session.get(WebhookEvent, stored.id).error


def test_failed_and_refund_events_for_unknown_objects_are_ignored(client, razorpay):
    for event in (
        {"event": "payment.failed", "payload": {"payment": {"entity": {"id": "pay_A", "order_id": "o"}}}},
        {
            "event": "refund.processed",
            "payload": {"refund": {"entity": {"id": "rfnd_A", "payment_id": "pay_A"}}},
        },
    ):
        body, headers = razorpay.state.signed_request(event)
        client.post("/api/payments/webhook", data=body, headers=headers)
    for stored in db.session.execute(select(WebhookEvent)).scalars().all():
        assert handle_webhook_event(event_row_id=stored.id) == "ignored"


def test_refund_task_edges(app, razorpay, student, admin, order_id):
    payment = paid(razorpay, order_id)
    razorpay.state.set_fault("server_error")
    payment.refund_requested_at = utcnow()  # what request_refund records; the job is not queued, so a live
    db.session.commit()  # test worker cannot claim it: this test runs the task itself
    job, _ = create_job(kind="payment_refund", owner_id=admin.id, params={"payment_id": payment.id})
    with pytest.raises(gateway.GatewayError):
        task(app, "payments.refund").run(job.id)
    task(app, "payments.refund").apply(args=[job.id])
    assert job_status(job.id).status == "failed"
    assert payment_row().refund_requested_at is not None  # reconcile will look at Razorpay
    task(app, "payments.refund").apply(args=[job.id])  # finished jobs are not claimed again
    razorpay.state.clear_fault()
    # A refund job for a payment that is not paid fails and lets the admin ask again.
    other = make_user("student")
    course = make_course(make_user("instructor"), price=PRICE)
    unpaid, _ = service.create_order(user_id=other.id, course_id=course.id)
    bad, _ = create_job(kind="payment_refund", owner_id=admin.id, params={"payment_id": unpaid.id})
    task(app, "payments.refund").apply(args=[bad.id])
    assert "cannot be refunded" in job_status(bad.id).error


def test_execute_refund_is_idempotent_and_refuses_odd_states(razorpay, admin, order_id):
    payment = paid(razorpay, order_id)
    razorpay.state.refund_mode = "pending"
    first = refund.execute_refund(payment_id=payment.id)
    assert first.status == "paid" and first.refund_id
    assert refund.execute_refund(payment_id=payment.id).refund_id == first.refund_id  # no second refund
    assert len(razorpay.state.refunds) == 1
    # Razorpay refuses a refund of a payment it has not captured: the refusal is not swallowed.
    remote = razorpay.state.payments[payment.payment_id]
    refund.mark_refunded(payment.id, refund_id=None)
    assert refund.execute_refund(payment_id=payment.id).status == "refunded"
    remote.update(status="authorized", amount_refunded=0)
    row = payment_row()
    row.status, row.refund_id = "paid", None
    db.session.commit()
    with pytest.raises(gateway.GatewayError, match="not been captured"):
        refund.execute_refund(payment_id=payment.id)


def test_reconcile_settles_pending_refunds(razorpay, admin, order_id):
    payment = paid(razorpay, order_id)
    razorpay.state.refund_mode = "pending"
    row = payment_row()
    row.refund_requested_at = utcnow()  # what request_refund records, without queueing a job
    db.session.commit()
    refund.execute_refund(payment_id=payment.id)  # what the job does
    row = payment_row()
    assert row.status == "paid" and row.refund_id
    razorpay.state.set_fault("server_error", prefix="/v1/payments/")
    assert reconcile(older_than_seconds=0)["errors"] == 1
    razorpay.state.clear_fault()
    assert reconcile(older_than_seconds=0)["refunded"] == 1
    row = payment_row()
    assert row.status == "refunded" and row.refund_id
    assert db.session.execute(select(Enrollment)).scalar_one().status == "revoked"


def test_reconcile_marks_an_order_refunded_at_razorpay(razorpay, order_id):
    pay = razorpay.state.checkout(order_id)["razorpay_payment_id"]
    razorpay.state.create_refund(pay, {})
    assert reconcile(older_than_seconds=0)["refunded"] == 1
    assert payment_row().status == "refunded"
    assert db.session.execute(select(Enrollment)).scalars().all() == []


def test_order_and_verify_odd_states(
    client, razorpay, student, instructor, order_id, monkeypatch, eager_tasks
):
    # A "course" the student owns (a demoted instructor's draft) is still not for sale.
    own = make_course(student, price=PRICE, status="draft")
    assert (
        client.post(
            "/api/payments/order", json={"course_id": own.id}, headers=auth_headers(student)
        ).status_code
        == 404
    )
    # Verified but not yet fulfilled: ordering again is a conflict, not a second order.
    checkout = razorpay.state.checkout(order_id, outcome="authorized")
    client.post("/api/payments/verify", json=checkout, headers=auth_headers(student))
    course_id = payment_row().course_id
    again = client.post("/api/payments/order", json={"course_id": course_id}, headers=auth_headers(student))
    assert again.status_code == 409 and "being processed" in again.get_json()["message"]
    # A refunded order cannot be verified again.
    refund.mark_refunded(payment_row().id, refund_id=None)
    assert (
        client.post("/api/payments/verify", json=checkout, headers=auth_headers(student)).status_code == 409
    )
    # Razorpay answering with an order of another amount is refused and stores nothing.
    other = make_course(instructor, price=PRICE)
    monkeypatch.setattr(
        gateway, "create_order", lambda **kw: {"id": "order_Odd", "amount": 1, "currency": "INR"}
    )
    odd = client.post("/api/payments/order", json={"course_id": other.id}, headers=auth_headers(student))
    assert odd.status_code == 502
    assert (
        db.session.execute(select(Payment).where(Payment.course_id == other.id)).scalar_one_or_none() is None
    )


def test_payment_of_a_deleted_course_is_kept_and_settles_without_enrollment(razorpay, order_id):
    row = payment_row()
    row.course_id = None
    db.session.commit()
    payment = paid(razorpay, order_id)
    assert payment.status == "paid" and payment.course_title
    assert db.session.execute(select(Enrollment)).scalars().all() == []
    assert refund.mark_refunded(payment.id, refund_id="rfnd_X").refunded_at <= utcnow()
