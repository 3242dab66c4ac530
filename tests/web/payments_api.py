"""Helpers of the payments API tests: order, verify, buy, refund, and the rows they leave."""

from __future__ import annotations

from sqlalchemy import select

from common.db import db
from common.learning.models import Enrollment
from common.payments.models import Payment
from tests.factories import auth_headers


def order(client, user, course_id):
    return client.post("/api/payments/order", json={"course_id": course_id}, headers=auth_headers(user))


def verify(client, user, payload):
    return client.post("/api/payments/verify", json=payload, headers=auth_headers(user))


def payments():
    db.session.expire_all()
    return db.session.execute(select(Payment).order_by(Payment.id)).scalars().all()


def enrollments():
    db.session.expire_all()
    return db.session.execute(select(Enrollment)).scalars().all()


def buy(client, razorpay, user, course):
    """Order, play Checkout and verify in-process; returns the paid Payment."""
    order_id = order(client, user, course.id).get_json()["order_id"]
    response = verify(client, user, razorpay.state.checkout(order_id))
    assert response.status_code == 200, response.get_json()
    return db.session.execute(select(Payment).where(Payment.order_id == order_id)).scalar_one()


def refund(client, user, payment_id):
    return client.post(f"/api/admin/payments/{payment_id}/refund", headers=auth_headers(user))
