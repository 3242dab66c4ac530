"""A refund: our payment refunded -> the access it bought (and the certificate it earned) goes."""

from __future__ import annotations

from common.certificates.service import revoke_for
from common.db import unit_of_work
from common.learning import service as learning
from common.payments import service as payments
from common.payments.models import Payment


def execute_refund(*, payment_id: int) -> Payment:
    """Ask Razorpay to refund the full amount once; mark refunded now if Razorpay processed it at once,
    else when refund.processed arrives (or reconcile sees it)."""
    row, refund_id, settled = payments.refund_through_razorpay(payment_id=payment_id)
    return mark_refunded(row.id, refund_id=refund_id) if settled else row


def mark_refunded(
    payment_id: int, *, refund_id: str | None, razorpay_payment_id: str | None = None
) -> Payment:
    """-> refunded; revokes the enrollment (and certificate) only if this payment had granted it. Commits."""
    with unit_of_work():
        row, was_paid = payments.claim_refunded(
            payment_id, refund_id=refund_id, razorpay_payment_id=razorpay_payment_id
        )
        # Only the access this payment granted goes (never access bought by another payment).
        if (
            was_paid
            and row.course_id is not None
            and learning.revoke_enrollment(user_id=row.user_id, course_id=row.course_id, payment_id=row.id)
        ):
            revoke_for(user_id=row.user_id, course_id=row.course_id, reason="refunded")
    return row
