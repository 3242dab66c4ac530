"""A purchase: Razorpay's captured payment -> our payment paid -> the course's enrollment, exactly once."""

from __future__ import annotations

import logging

from common.certificates.service import request_certificate
from common.db import db, end_read, unit_of_work
from common.flows import refund
from common.learning import service as learning
from common.payments import gateway
from common.payments import service as payments
from common.payments.models import Payment

log = logging.getLogger(__name__)


def fulfil_payment(*, payment_id: int, razorpay_payment_id: str) -> Payment:
    """Settle our payment from Razorpay's own record of the payment: paid + enrolled exactly once.

    Idempotent and safe under concurrency (row lock + state check), so it runs with acks_late.
    GatewayError/GatewayUnavailable with retryable=True when Razorpay fails or has not captured yet.
    """
    payment, due = payments.due_for_settling(payment_id=payment_id, razorpay_payment_id=razorpay_payment_id)
    if not due:
        return payment
    return settle(payment.id, gateway.fetch_payment(razorpay_payment_id))


def settle(payment_id: int, entity: dict) -> Payment:
    """Apply Razorpay's payment entity to our payment (captured -> paid, failed -> failed ...). Commits."""
    verdict = payments.settlement(payment_id, entity)
    if verdict.outcome == "failed":
        return payments.mark_failed(
            payment_id, razorpay_payment_id=entity.get("id"), reason=verdict.reason, force=verdict.force
        )
    if verdict.outcome == "refunded":
        return refund.mark_refunded(payment_id, refund_id=None, razorpay_payment_id=entity.get("id"))
    return mark_paid(payment_id, razorpay_payment_id=entity["id"])


def mark_paid(payment_id: int, *, razorpay_payment_id: str) -> Payment:
    """created/failed -> paid and enroll, in one unit of work; a no-op in any other state.

    A captured payment for a course the user already has (a second order paid in another tab: a
    double charge) grants nothing: it is flagged (`duplicate_of_id`) and refunded automatically.
    A re-bought course that was already complete gets its certificate back.
    """
    granted = duplicate = False
    with unit_of_work():
        row, newly_paid = payments.claim_paid(payment_id, razorpay_payment_id=razorpay_payment_id)
        if newly_paid:
            if row.course_id is not None:
                granted = learning.grant_enrollment(
                    user_id=row.user_id, course_id=row.course_id, source="payment", payment_id=row.id
                )
                duplicate = not granted
                if duplicate:
                    payments.flag_duplicate(row)
            log.info(
                "payment %s paid (%s); user %s enrolled in course %s%s",
                row.id,
                razorpay_payment_id,
                row.user_id,
                row.course_id,
                " (already enrolled: a double charge)" if duplicate else "",
            )
    if granted:
        completed = learning.is_completed(user_id=row.user_id, course_id=row.course_id)
        end_read()
        if completed:
            request_certificate(user_id=row.user_id, course_id=row.course_id)
    if duplicate:
        payments.refund_duplicate(payment_id=row.id)
        db.session.refresh(row)
    return row
