"""Duplicate and out-of-order webhooks: every permutation of captured / order.paid / failed / refund.processed
for one payment, each delivered twice (a replay and a re-send under a new event id), ends in one state."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from common.catalog.models import Course
from common.db import db
from common.flows.payment_events import handle_webhook_event
from common.learning.models import Enrollment
from common.payments.models import Payment, WebhookEvent
from tests.factories import auth_headers, make_course
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403
from tests.standins.razorpay_fixtures import PRICE

WITH_REFUND = ("payment.captured", "order.paid", "payment.failed", "refund.processed")


@pytest.fixture
def paid_at_razorpay(client, razorpay, student, instructor):
    """An order whose payment Razorpay captured; (order_id, payment_id, course_id)."""
    course = make_course(instructor, price=PRICE)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    return order_id, razorpay.state.checkout(order_id)["razorpay_payment_id"], course.id


def build(razorpay, events, payment_id, refund_id=None) -> list:
    built = []
    for name in events:
        ids = {"refund_id": refund_id} if name == "refund.processed" else {"payment_id": payment_id}
        built.append(razorpay.state.build_event(name, **ids))
    return built


def deliver_twice_and_handle(client, razorpay, built) -> None:
    for event in built:
        body, headers = razorpay.state.signed_request(event)
        for _ in range(2):  # Razorpay's retry: the same event id
            assert client.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
        body, headers = razorpay.state.signed_request(event)  # the same event again under a new id
        assert client.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
        for row in db.session.execute(
            select(WebhookEvent.id).where(WebhookEvent.status == "received")
        ).scalars():
            handle_webhook_event(event_row_id=row)


def final_state(course_id):
    db.session.expire_all()
    payment = db.session.execute(select(Payment)).scalar_one()
    enrollments = db.session.execute(select(Enrollment)).scalars().all()
    return payment, enrollments, db.session.get(Course, course_id).enrollment_count


@pytest.mark.parametrize("order", list(itertools.permutations(WITH_REFUND)), ids="-".join)
def test_every_order_of_the_four_events_ends_refunded_without_access(
    client, razorpay, paid_at_razorpay, order
):
    order_id, payment_id, course_id = paid_at_razorpay
    refund = razorpay.state.create_refund(payment_id, {})  # processed at once (the stand-in's default)
    deliver_twice_and_handle(client, razorpay, build(razorpay, order, payment_id, refund["id"]))
    payment, enrollments, count = final_state(course_id)
    assert (payment.status, payment.payment_id, payment.refund_id) == ("refunded", payment_id, refund["id"])
    assert [e.status for e in enrollments] in ([], ["revoked"]) and count == 0
    statuses = db.session.execute(select(WebhookEvent.status)).scalars().all()
    assert len(statuses) == 8 and set(statuses) <= {"processed", "ignored"}


@pytest.mark.parametrize("order", list(itertools.permutations(WITH_REFUND[:3])), ids="-".join)
def test_every_order_without_a_refund_ends_paid_and_enrolled_once(client, razorpay, paid_at_razorpay, order):
    order_id, payment_id, course_id = paid_at_razorpay
    deliver_twice_and_handle(client, razorpay, build(razorpay, order, payment_id))
    payment, enrollments, count = final_state(course_id)
    assert (payment.status, payment.payment_id, payment.failure_reason) == ("paid", payment_id, None)
    assert [(e.status, e.payment_id) for e in enrollments] == [("active", payment.id)] and count == 1
