"""Razorpay webhooks: signatures over the raw body, store-once, and every ordering of events."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.db import db
from common.flows.payment_events import handle_webhook_event, reconcile
from common.learning.models import Enrollment
from common.payments.models import Payment, WebhookEvent
from standins.razorpay import sign
from tests.factories import auth_headers, make_course
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403
from tests.standins.razorpay_fixtures import PRICE

URL = "/api/payments/webhook"


def post(client, body, headers):
    return client.post(URL, data=body, headers=headers)


def deliver(client, razorpay, event, **kwargs):
    body, headers = webhook_request(razorpay, event, **kwargs)
    return post(client, body, headers)


def events():
    db.session.expire_all()
    return db.session.execute(select(WebhookEvent).order_by(WebhookEvent.id)).scalars().all()


def handle_all():
    for event in events():
        if event.status == "received":
            handle_webhook_event(event_row_id=event.id)


def state():
    db.session.expire_all()
    payment = db.session.execute(select(Payment)).scalar_one()
    rows = db.session.execute(select(Enrollment)).scalars().all()
    return payment, rows


def test_captured_webhook_alone_fulfils(client, razorpay, order_id, student, course):
    pay = razorpay.state.checkout(order_id)["razorpay_payment_id"]
    response = deliver(client, razorpay, "payment.captured", payment_id=pay, event_id="evt_Captured000001")
    assert response.status_code == 200
    assert response.get_json() == {"status": "received", "event_id": "evt_Captured000001"}
    [event] = events()
    assert (event.event_type, event.payload["event"]) == ("payment.captured", "payment.captured")
    assert event.status in ("received", "processed")  # a live test worker may already have handled it
    handle_all()
    payment, [enrollment] = state()
    assert payment.status == "paid" and payment.payment_id == pay and payment.verified_at is None
    assert (enrollment.user_id, enrollment.course_id, enrollment.source) == (student.id, course.id, "payment")
    assert events()[0].status == "processed" and events()[0].processed_at
    # The worker asked Razorpay rather than trusting the event snapshot.
    assert razorpay.state.seen("GET", f"/v1/payments/{pay}") >= 1


def test_same_event_three_times_is_stored_and_handled_once(client, razorpay, order_id):
    razorpay.state.checkout(order_id)
    body, headers = webhook_request(razorpay, "order.paid", order_id=order_id)
    answers = [post(client, body, headers).get_json()["status"] for _ in range(3)]
    assert answers == ["received", "duplicate", "duplicate"]
    assert len(events()) == 1
    handle_all()
    handle_all()
    payment, enrollments = state()
    assert payment.status == "paid" and len(enrollments) == 1


def test_twenty_concurrent_deliveries_over_http(client, razorpay, order_id, live_app, course):
    razorpay.state.checkout(order_id)
    event = razorpay.state.build_event("payment.captured", order_id=order_id)
    result = razorpay.state.deliver(event, url=live_app + URL, times=20, concurrency=20)
    assert result["statuses"] == [200] * 20
    [stored] = events()
    assert stored.event_id == result["event_id"]
    handle_all()
    payment, enrollments = state()
    assert payment.status == "paid" and len(enrollments) == 1
    from common.catalog.models import Course

    assert db.session.get(Course, course.id).enrollment_count == 1


def test_captured_and_order_paid_and_verify_all_settle_once(client, razorpay, order_id, student, eager_tasks):
    checkout = razorpay.state.checkout(order_id)
    deliver(client, razorpay, "payment.captured", order_id=order_id)
    deliver(client, razorpay, "order.paid", order_id=order_id)
    assert (
        client.post("/api/payments/verify", json=checkout, headers=auth_headers(student)).status_code == 200
    )
    payment, enrollments = state()
    assert payment.status == "paid" and len(enrollments) == 1
    assert [e.status for e in events()] == ["processed", "processed"]


def test_failed_then_captured_attempt(client, razorpay, order_id):
    failed = razorpay.state.checkout(order_id, outcome="failed")
    deliver(client, razorpay, "payment.failed", order_id=order_id)
    handle_all()
    payment, enrollments = state()
    assert payment.status == "failed" and "declined" in payment.failure_reason and enrollments == []
    assert failed["error"]["metadata"]["payment_id"] in payment.failure_reason
    # Checkout lets the customer retry on the same order; the captured retry wins.
    razorpay.state.checkout(order_id)
    deliver(client, razorpay, "payment.captured", order_id=order_id)
    handle_all()
    payment, enrollments = state()
    assert payment.status == "paid" and payment.failure_reason is None and len(enrollments) == 1


def test_late_payment_failed_never_downgrades_a_paid_order(client, razorpay, order_id):
    razorpay.state.checkout(order_id, outcome="failed")
    razorpay.state.checkout(order_id)
    deliver(client, razorpay, "payment.captured", order_id=order_id)
    handle_all()
    deliver(client, razorpay, "payment.failed", order_id=order_id)
    handle_all()
    payment, enrollments = state()
    assert payment.status == "paid" and len(enrollments) == 1 and enrollments[0].status == "active"
    assert [e.status for e in events()] == ["processed", "processed"]


def test_failed_attempt_does_not_clobber_a_verified_one(client, razorpay, order_id, student):
    razorpay.state.checkout(order_id, outcome="failed")
    # Authorized, not yet captured: whoever fulfils it (a live test worker too) leaves the order open.
    checkout = razorpay.state.checkout(order_id, outcome="authorized")
    assert (
        client.post("/api/payments/verify", json=checkout, headers=auth_headers(student)).status_code == 202
    )
    deliver(client, razorpay, "payment.failed", order_id=order_id)
    handle_all()
    payment, _ = state()
    assert payment.status == "created" and payment.payment_id == checkout["razorpay_payment_id"]


def test_refund_processed_before_captured_ends_refunded_without_access(client, razorpay, order_id):
    pay = razorpay.state.checkout(order_id)["razorpay_payment_id"]
    refund = razorpay.state.create_refund(pay, {})
    deliver(client, razorpay, "refund.processed", refund_id=refund["id"])
    handle_all()
    deliver(client, razorpay, "payment.captured", payment_id=pay)
    handle_all()
    payment, enrollments = state()
    assert payment.status == "refunded" and payment.refund_id == refund["id"] and enrollments == []


def test_refund_processed_revokes_access(client, razorpay, order_id):
    pay = razorpay.state.checkout(order_id)["razorpay_payment_id"]
    deliver(client, razorpay, "payment.captured", payment_id=pay)
    handle_all()
    refund = razorpay.state.create_refund(pay, {})
    for _ in range(2):
        deliver(client, razorpay, "refund.processed", refund_id=refund["id"])
    handle_all()
    payment, [enrollment] = state()
    assert payment.status == "refunded" and enrollment.status == "revoked"
    # A replayed capture afterwards changes nothing.
    deliver(client, razorpay, "payment.captured", payment_id=pay, event_id="evt_Replay00000001")
    handle_all()
    payment, [enrollment] = state()
    assert payment.status == "refunded" and enrollment.status == "revoked"


def test_partial_refund_keeps_access(client, razorpay, order_id):
    pay = razorpay.state.checkout(order_id)["razorpay_payment_id"]
    deliver(client, razorpay, "payment.captured", payment_id=pay)
    handle_all()
    refund = razorpay.state.create_refund(pay, {"amount": 100})
    deliver(client, razorpay, "refund.processed", refund_id=refund["id"])
    handle_all()
    payment, [enrollment] = state()
    assert payment.status == "paid" and enrollment.status == "active"
    assert events()[-1].status == "ignored" and "partial" in events()[-1].error


@pytest.mark.parametrize("case", ["missing", "malformed", "wrong_secret", "tampered_body", "non_ascii"])
def test_bad_signatures_are_400_and_store_nothing(client, razorpay, order_id, case):
    razorpay.state.checkout(order_id)
    body, headers = webhook_request(razorpay, "payment.captured", order_id=order_id)
    if case == "missing":
        del headers["X-Razorpay-Signature"]
    elif case == "malformed":
        headers["X-Razorpay-Signature"] = "not-hex"
    elif case == "wrong_secret":
        headers["X-Razorpay-Signature"] = sign(body, "some-other-secret")
    elif case == "tampered_body":
        body = body.replace(b'"captured"', b'"refunded"', 1)
    else:
        headers["X-Razorpay-Signature"] = "ä" * 64
    response = post(client, body, headers)
    assert response.status_code == 400 and response.get_json()["code"] == 400
    assert events() == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"event": "payment.captured"}', b""])
def test_signed_garbage_is_400(client, razorpay, body):
    headers = {"X-Razorpay-Signature": sign(body, "suite-webhook-secret"), "Content-Type": "application/json"}
    assert post(client, body, headers).status_code == 400
    assert events() == []


def test_unhandled_events_and_unknown_orders_are_ignored(client, razorpay, order_id):
    razorpay.state.checkout(order_id, outcome="authorized")
    response = deliver(client, razorpay, "payment.authorized", order_id=order_id)
    assert response.get_json()["status"] == "ignored"
    foreign = {
        "entity": "event",
        "event": "payment.captured",
        "contains": ["payment"],
        "payload": {
            "payment": {
                "entity": {
                    "id": "pay_Foreign0000001",
                    "order_id": "order_NotOurs000001",
                    "amount": 100,
                    "currency": "INR",
                    "status": "captured",
                }
            }
        },
    }
    body, headers = razorpay.state.signed_request(foreign)
    assert post(client, body, headers).get_json()["status"] == "received"
    handle_all()
    assert [(e.event_type, e.status) for e in events()] == [
        ("payment.authorized", "ignored"),
        ("payment.captured", "ignored"),
    ]
    assert "unknown order" in events()[1].error


def test_without_event_id_an_exact_replay_still_dedupes(client, razorpay, order_id):
    razorpay.state.checkout(order_id)
    body, headers = webhook_request(razorpay, "payment.captured", order_id=order_id)
    del headers["x-razorpay-event-id"]
    assert post(client, body, headers).get_json()["status"] == "received"
    assert post(client, body, headers).get_json()["status"] == "duplicate"
    assert events()[0].event_id.startswith("sha256:")
    headers["x-razorpay-event-id"] = "e" * 129
    body2 = body.replace(b"}", b" }", 1)
    headers["X-Razorpay-Signature"] = sign(body2, "suite-webhook-secret")
    assert post(client, body2, headers).status_code == 400


def test_razorpay_down_leaves_the_event_for_a_retry(client, razorpay, order_id):
    from common.payments.gateway import GatewayUnavailable

    razorpay.state.checkout(order_id)
    razorpay.state.set_fault("unavailable", prefix="/v1/payments/")
    deliver(client, razorpay, "payment.captured", order_id=order_id)
    with pytest.raises(Exception) as info:
        handle_all()
    assert getattr(info.value, "retryable", False) and not isinstance(info.value, GatewayUnavailable)
    assert events()[0].status == "received"
    razorpay.state.clear_fault()
    # The stuck event is re-queued by reconcile; handling it then settles the order.
    assert reconcile(older_than_seconds=0)["paid"] == 1  # the order itself is settled from Razorpay too
    handle_all()
    payment, enrollments = state()
    assert payment.status == "paid" and len(enrollments) == 1 and events()[0].status == "processed"


def test_reconcile_settles_a_lost_webhook(client, razorpay, order_id, app):
    checkout = razorpay.state.checkout(order_id)
    assert reconcile()["checked"] == 0  # too young for the default window
    stats = reconcile(older_than_seconds=0)
    assert stats["paid"] == 1
    payment, enrollments = state()
    assert payment.status == "paid" and payment.payment_id == checkout["razorpay_payment_id"]
    assert len(enrollments) == 1
    assert reconcile(older_than_seconds=0)["checked"] == 0


def test_reconcile_marks_abandoned_failures_and_keeps_open_orders(
    app, client, razorpay, order_id, student, instructor
):
    other = make_course(instructor, price=PRICE)
    other_order = client.post(
        "/api/payments/order", json={"course_id": other.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    razorpay.state.checkout(other_order, outcome="failed")
    stats = reconcile(older_than_seconds=0)
    assert (stats["failed"], stats["open"]) == (1, 1)
    app.config["RAZORPAY_TIMEOUT_SECONDS"] = 0.2
    razorpay.state.set_fault("slow", delay=2, prefix="/v1/orders")
    stats = reconcile(older_than_seconds=0)  # Razorpay unreachable: stop this round early
    assert (stats["checked"], stats["errors"]) == (1, 1)
    razorpay.state.set_fault("gateway_error", prefix="/v1/orders")
    stats = reconcile(older_than_seconds=0)  # a refusal on one order does not stop the round
    assert (stats["errors"], stats["open"]) == (1, 1)


def test_reconcile_task_runs_with_the_configured_window(app, razorpay, order_id):
    razorpay.state.checkout(order_id)
    app.config["PAYMENTS_RECONCILE_AFTER_SECONDS"] = 0
    try:
        task(app, "payments.reconcile").apply()
    finally:
        app.config["PAYMENTS_RECONCILE_AFTER_SECONDS"] = 180
    payment, enrollments = state()
    assert payment.status == "paid" and len(enrollments) == 1
