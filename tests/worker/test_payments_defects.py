"""Regression tests of money/access defects (issue 12): re-bought courses, reconcile order, double charges."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from common.catalog.models import Course, Lesson
from common.certificates.models import Certificate
from common.db import db, utcnow
from common.flows import purchase, refund
from common.flows.completion import complete_lesson
from common.flows.payment_events import reconcile
from common.jobs.models import Job
from common.learning.models import Enrollment
from common.payments.models import Payment
from tests.factories import auth_headers
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403
from tests.standins.razorpay_fixtures import PRICE


def order(client, student, course) -> Payment:
    response = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    )
    assert response.status_code in (200, 201), response.get_json()
    db.session.expire_all()
    return db.session.execute(
        select(Payment).where(Payment.order_id == response.get_json()["order_id"])
    ).scalar_one()


def buy(client, razorpay, student, course) -> Payment:
    payment = order(client, student, course)
    pay = razorpay.state.checkout(payment.order_id)["razorpay_payment_id"]
    return purchase.mark_paid(payment.id, razorpay_payment_id=pay)


def enrollment(student, course) -> Enrollment:
    db.session.expire_all()
    return db.session.execute(
        select(Enrollment).where(Enrollment.user_id == student.id, Enrollment.course_id == course.id)
    ).scalar_one()


def test_rebought_completed_course_ends_with_a_valid_certificate(
    client, razorpay, student, course, eager_tasks
):
    # eager: the certificate's render runs here, not on a live test worker after this test ended
    first = buy(client, razorpay, student, course)
    for lesson_id in db.session.execute(select(Lesson.id).where(Lesson.course_id == course.id)).scalars():
        complete_lesson(user_id=student.id, lesson_id=lesson_id)
    certificate = db.session.execute(select(Certificate)).scalar_one()
    refund.mark_refunded(first.id, refund_id=None)
    db.session.expire_all()
    assert enrollment(student, course).status == "revoked" and certificate.revoked_at is not None
    second = buy(client, razorpay, student, course)
    row = enrollment(student, course)
    assert second.status == "paid" and row.status == "active" and row.payment_id == second.id
    assert row.completed_at is not None  # every lesson is still done: complete again
    [certificate] = db.session.execute(select(Certificate)).scalars().all()
    assert certificate.revoked_at is None and certificate.revoke_reason is None


def test_rebought_course_not_finished_is_not_complete(client, razorpay, student, course):
    first = buy(client, razorpay, student, course)
    db.session.execute(update(Enrollment).values(completed_at=utcnow()))  # stamped under an older outline
    db.session.commit()
    refund.mark_refunded(first.id, refund_id=None)
    buy(client, razorpay, student, course)
    assert enrollment(student, course).completed_at is None  # lessons are not done: no stale stamp kept
    assert db.session.execute(select(Certificate)).first() is None


def _abandoned_carts(student, course, count: int) -> None:
    old = utcnow() - timedelta(hours=1)
    for n in range(count):
        db.session.add(
            Payment(
                user_id=student.id,
                course_id=course.id,
                amount=PRICE,
                currency="INR",
                receipt=f"rcpt_abandoned_{n}",
                order_id=f"order_abandoned{n:05d}",
                status="created",
                created_at=old - timedelta(seconds=count - n),
                updated_at=old,
            )
        )
    db.session.commit()


def test_reconcile_reaches_a_verified_order_behind_many_abandoned_carts(client, razorpay, student, course):
    verified = order(client, student, course)
    _abandoned_carts(student, course, 105)
    pay = razorpay.state.checkout(verified.order_id)["razorpay_payment_id"]
    db.session.execute(
        update(Payment)
        .where(Payment.id == verified.id)
        .values(payment_id=pay, verified_at=utcnow(), updated_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    stats = reconcile(older_than_seconds=0, limit=100)
    assert stats["paid"] == 1
    db.session.expire_all()
    assert db.session.get(Payment, verified.id).status == "paid"
    assert enrollment(student, course).payment_id == verified.id


def test_reconcile_rotates_through_open_orders_by_last_check(app, razorpay, student, course):
    _abandoned_carts(student, course, 6)
    reconcile(older_than_seconds=0, limit=3)
    reconcile(older_than_seconds=0, limit=3)
    db.session.expire_all()
    checked = db.session.execute(select(Payment.checked_at)).scalars().all()
    assert len(checked) == 6 and all(checked)  # the second run took the three the first one had not


def test_reconcile_stops_at_its_time_budget(app, razorpay, student, course):
    _abandoned_carts(student, course, 3)
    stats = reconcile(older_than_seconds=0, budget_seconds=0)
    assert stats["checked"] == 0 and stats["deferred"] == 3
    assert app.config["PAYMENTS_RECONCILE_BUDGET_SECONDS"] < 240  # below the task soft time limit


def test_second_captured_payment_is_refunded_and_keeps_the_first_ones_access(
    client, razorpay, student, course, eager_tasks
):
    first = order(client, student, course)
    db.session.execute(update(Course).where(Course.id == course.id).values(price=PRICE + 100))
    db.session.commit()
    second = order(client, student, course)  # a new price: a second order, paid in another tab
    assert first.id != second.id
    pay_first = razorpay.state.checkout(first.order_id)["razorpay_payment_id"]
    pay_second = razorpay.state.checkout(second.order_id)["razorpay_payment_id"]
    purchase.mark_paid(first.id, razorpay_payment_id=pay_first)
    purchase.mark_paid(second.id, razorpay_payment_id=pay_second)  # the double charge: refunded at once
    db.session.expire_all()
    second = db.session.get(Payment, second.id)
    assert second.status == "refunded" and second.duplicate_of_id == first.id
    assert razorpay.state.payments[pay_second]["status"] == "refunded"
    assert razorpay.state.payments[pay_first]["status"] == "captured"
    row = enrollment(student, course)
    assert row.status == "active" and row.payment_id == first.id
    job = db.session.execute(select(Job).where(Job.kind == "payment_refund")).scalar_one()
    assert job.status == "succeeded" and job.owner_id is None


def test_refund_of_a_payment_that_did_not_grant_access_keeps_it(client, razorpay, student, course):
    first = buy(client, razorpay, student, course)
    # e.g. a second order settled later by reconcile while already enrolled (a legacy row)
    stray = Payment(
        user_id=student.id,
        course_id=course.id,
        amount=PRICE,
        currency="INR",
        receipt="rcpt_stray",
        order_id="order_stray",
        payment_id="pay_stray",
        status="paid",
        paid_at=utcnow(),
    )
    db.session.add(stray)
    db.session.commit()
    refund.mark_refunded(stray.id, refund_id=None)
    row = enrollment(student, course)
    assert row.status == "active" and row.payment_id == first.id
    refund.mark_refunded(first.id, refund_id=None)
    assert enrollment(student, course).status == "revoked"
