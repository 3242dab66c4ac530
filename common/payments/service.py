"""Payment rules: Razorpay orders, Checkout verification, fulfilment exactly once, refunds, history."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import select, text

from common.admin import audit
from common.catalog.access import is_enrolled, visible_course
from common.db import db, get_owned, is_postgres, unit_of_work, utcnow
from common.errors import BadRequest, Conflict, DomainError, InvalidState, not_found
from common.jobs.models import Job
from common.jobs.service import QueueUnavailable, start_job
from common.learning.models import Enrollment
from common.pagination import Page, paginate
from common.payments import gateway
from common.payments.models import Payment

log = logging.getLogger(__name__)
SETTLEABLE = ("created", "failed")  # states a captured payment may still move to `paid`


# --- orders -------------------------------------------------------------------------------------
def create_order(*, user_id: int, course_id: int) -> tuple[Payment, bool]:
    """A Razorpay order for the course at its stored price; an open order of the same price is reused.

    Returns (payment, created). Commits. NotFound for a course the student may not see, InvalidState
    for a free course, Conflict if already enrolled or a payment is already being processed;
    GatewayError (502) / GatewayUnavailable (503) if Razorpay fails, leaving no row behind.
    """
    course = visible_course(course_id, user_id, "student")
    if course.status != "approved":
        raise not_found("Course", course_id)
    if course.price <= 0:
        raise InvalidState(f"Course {course.id} is free: enroll with POST /api/courses/{course.id}/enroll")
    with unit_of_work():
        # Serialise order creation per (user, course) so two clicks never make two Razorpay orders.
        _lock_purchase(user_id, course.id)
        if is_enrolled(user_id, course.id):
            raise Conflict("You are already enrolled in this course")
        open_order = db.session.execute(
            select(Payment)
            .where(
                Payment.user_id == user_id,
                Payment.course_id == course.id,
                Payment.status == "created",
                Payment.amount == course.price,
                Payment.currency == course.currency,
            )
            .order_by(Payment.created_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if open_order is not None:
            if open_order.payment_id is not None:
                raise Conflict("A payment for this course is already being processed")
            return open_order, False
        receipt = "rcpt_" + secrets.token_hex(12)
        order = gateway.create_order(
            amount=course.price,
            currency=course.currency,
            receipt=receipt,
            notes={"user_id": str(user_id), "course_id": str(course.id)},
        )
        if (
            not order.get("id")
            or order.get("amount") != course.price
            or order.get("currency") != course.currency
        ):
            raise gateway.GatewayError(
                "Razorpay returned an order that does not match the course price", retryable=False
            )
        payment = Payment(
            user_id=user_id,
            course_id=course.id,
            course_title=course.title,
            amount=course.price,
            currency=course.currency,
            receipt=receipt,
            order_id=order["id"],
            status="created",
        )
        db.session.add(payment)
    return payment, True


def _lock_purchase(user_id: int, course_id: int) -> None:
    if is_postgres():
        digest = hashlib.sha256(f"payments.order:{user_id}:{course_id}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# --- Checkout verification ------------------------------------------------------------------------
def verify_payment(*, user_id: int, order_id: str, payment_id: str, signature) -> tuple[Payment, Job | None]:
    """Check Checkout's signature against the order WE stored for this user, record the payment id and
    hand fulfilment to the payments queue. Returns (payment, job); job is None if already paid.

    NotFound for an order that is not this user's, BadRequest for a malformed or wrong signature,
    Conflict if the order was paid with another payment or refunded.
    """
    payment = db.session.execute(
        select(Payment).where(Payment.order_id == order_id, Payment.user_id == user_id)
    ).scalar_one_or_none()
    if payment is None:
        raise not_found("Order", order_id)
    if not gateway.checkout_signature_ok(
        order_id=payment.order_id, payment_id=payment_id, signature=signature
    ):
        log.warning("checkout signature mismatch for order %s (user %s)", order_id, user_id)
        raise BadRequest("Payment signature verification failed")
    with unit_of_work():
        row = _locked(payment.id)
        if row.status == "paid" and row.payment_id == payment_id:
            return row, None
        if row.status == "paid":
            raise Conflict("This order was already paid with another payment")
        if row.status == "refunded":
            raise InvalidState("This order has been refunded")
        # payment_id is unique, and the signature binds it to this order: no other row can hold it.
        row.payment_id = payment_id
        row.verified_at = utcnow()
    job = start_job(
        kind="payment_fulfilment",
        task_name="payments.fulfil_order",
        owner_id=user_id,
        params={"payment_id": row.id, "razorpay_payment_id": payment_id},
        dedup_key=f"payments.fulfil:{row.id}:{payment_id}",
    )
    db.session.refresh(row)  # an in-process task (embedded default) may already have fulfilled it
    return row, job


# --- fulfilment (common/flows/purchase.py composes these with the enrollment) ----------------------
def due_for_settling(*, payment_id: int, razorpay_payment_id: str) -> tuple[Payment, bool]:
    """(payment, due): whether the payment may still be settled from Razorpay's record. Commits.

    A payment already paid, refunded (or otherwise settled) is left alone, so a redelivered
    fulfilment does nothing; no transaction stays open across the Razorpay call that follows.
    """
    payment = _get(payment_id)
    due = payment.status in SETTLEABLE
    if not due and payment.payment_id != razorpay_payment_id:
        log.warning(
            "payment %s is %s; ignoring Razorpay payment %s", payment.id, payment.status, razorpay_payment_id
        )
    db.session.commit()
    return payment, due


@dataclass(frozen=True)
class Settlement:
    """What Razorpay's payment entity means for our payment: `paid`, `failed` or `refunded`."""

    outcome: str
    reason: str | None = None
    force: bool = False  # a failure that overrides another verified attempt (that attempt is bad)


def settlement(payment_id: int, entity: dict) -> Settlement:
    """Read Razorpay's payment entity against our payment (captured at our price -> paid ...).

    InvalidState if it belongs to another order; a retryable GatewayError while it is not captured yet.
    """
    payment = _get(payment_id)
    if entity.get("order_id") != payment.order_id:
        log.warning(
            "payment %s: Razorpay payment %s belongs to order %s",
            payment.id,
            entity.get("id"),
            entity.get("order_id"),
        )
        raise InvalidState(f"Razorpay payment {entity.get('id')} does not belong to order {payment.order_id}")
    status = entity.get("status")
    if status == "failed":
        return Settlement("failed", entity.get("error_description") or "payment failed")
    if status == "refunded":
        return Settlement("refunded")
    if status != "captured":
        raise gateway.GatewayError(
            f"Razorpay payment {entity.get('id')} is {status}, not captured yet", retryable=True
        )
    if entity.get("amount") != payment.amount or str(entity.get("currency", "")).upper() != payment.currency:
        reason = (
            f"amount mismatch: order is {payment.amount} {payment.currency}, Razorpay payment "
            f"{entity.get('id')} is {entity.get('amount')} {entity.get('currency')}"
        )
        log.error("payment %s not fulfilled: %s", payment.id, reason)
        return Settlement("failed", reason, force=True)
    return Settlement("paid")


def claim_paid(payment_id: int, *, razorpay_payment_id: str) -> tuple[Payment, bool]:
    """created/failed -> paid, in the caller's unit of work (the row stays locked until it commits).

    Returns (payment, newly_paid); any other state is left as it is (newly_paid False).
    """
    row = _locked(payment_id)
    if row.status not in SETTLEABLE:
        return row, False
    row.status, row.payment_id, row.paid_at, row.failure_reason = "paid", razorpay_payment_id, utcnow(), None
    return row, True


def flag_duplicate(row: Payment) -> None:
    """Mark a paid payment that granted nothing (the course was already held) as a double charge of
    the payment that granted the access; in the caller's unit of work."""
    row.duplicate_of_id = db.session.execute(
        select(Enrollment.payment_id).where(
            Enrollment.user_id == row.user_id, Enrollment.course_id == row.course_id
        )
    ).scalar()


@dataclass(frozen=True)
class FulfilmentOutcome:
    """What a fulfilment job reports: its result, and whether it succeeded (else `error` says why)."""

    succeeded: bool
    result: dict
    error: str | None = None


def fulfilment_outcome(payment: Payment) -> FulfilmentOutcome:
    """A settled payment seen as the outcome of its fulfilment job: paid (enrolled) or refunded meanwhile
    is a job done; failed, or still open, is a failed job with the reason."""
    result = {
        "payment_id": payment.id,
        "payment_status": payment.status,
        "enrolled": payment.status == "paid",
    }
    if payment.status in ("paid", "refunded"):
        return FulfilmentOutcome(True, result)
    return FulfilmentOutcome(False, result, payment.failure_reason or f"payment is {payment.status}")


def refund_duplicate(*, payment_id: int) -> Job | None:
    """Refund a payment that granted nothing (double charge) without an admin; the system is the actor.

    Recorded in the audit log (`payment.duplicate_refund`); if the queue is down the job is sent by
    jobs.sweep later. None if the payment is not paid or a refund is already under way.
    """
    with unit_of_work():
        row = _locked(payment_id)
        if row.status != "paid" or row.refund_requested_at is not None:
            return None
        row.refund_requested_at = utcnow()
        audit.record(
            actor_id=None,
            action="payment.duplicate_refund",
            object_type="payment",
            object_id=row.id,
            detail={
                "order_id": row.order_id,
                "amount": row.amount,
                "currency": row.currency,
                "duplicate_of": row.duplicate_of_id,
            },
        )
    log.warning("payment %s is a double charge (course %s already held); refunding it", row.id, row.course_id)
    stamp = int(row.refund_requested_at.timestamp() * 1000)
    try:
        return start_job(
            kind="payment_refund",
            task_name="payments.refund",
            owner_id=None,
            params={"payment_id": row.id},
            dedup_key=f"payments.refund:{row.id}:{stamp}",
        )
    except QueueUnavailable:
        return None  # recorded; jobs.sweep sends it


def mark_failed(
    payment_id: int, *, razorpay_payment_id: str | None, reason: str, force: bool = False
) -> Payment:
    """created -> failed; never touches a paid or refunded payment. A failed attempt does not clobber
    another attempt already verified on the same order unless `force` (that attempt itself is bad)."""
    with unit_of_work():
        row = _locked(payment_id)
        other_attempt = row.payment_id is not None and row.payment_id != razorpay_payment_id
        if row.status in SETTLEABLE and (force or not other_attempt):
            row.status = "failed"
            row.failure_reason = (f"{razorpay_payment_id}: {reason}" if razorpay_payment_id else reason)[:500]
    return row


def claim_refunded(
    payment_id: int, *, refund_id: str | None, razorpay_payment_id: str | None = None
) -> tuple[Payment, bool]:
    """-> refunded, in the caller's unit of work; returns (payment, was_paid): whether this call
    refunded a payment that was paid (its access then goes, see common/flows/refund.py).

    Razorpay's payment and refund ids are filled in whichever event or check brings them, so every
    order of webhooks ends with the same row.
    """
    row = _locked(payment_id)
    row.refund_id = row.refund_id or refund_id
    row.payment_id = row.payment_id or razorpay_payment_id
    if row.status == "refunded":
        return row, False
    was_paid = row.status == "paid"
    row.status, row.refunded_at = "refunded", utcnow()
    log.info("payment %s refunded (%s)", row.id, row.refund_id)
    return row, was_paid


# --- refunds --------------------------------------------------------------------------------------
def request_refund(*, payment_id: int, admin_id: int) -> Job:
    """Admin: start refunding a paid payment through Razorpay (a job); 409 unless paid and not under way."""
    with unit_of_work():
        row = _locked(payment_id)
        if row.status != "paid":
            raise InvalidState(f"Only a paid payment can be refunded; payment {row.id} is {row.status}")
        if row.refund_requested_at is not None:
            raise Conflict(f"A refund of payment {row.id} is already under way")
        row.refund_requested_at = utcnow()
        audit.record(
            actor_id=admin_id,
            action="payment.refund",
            object_type="payment",
            object_id=row.id,
            detail={"order_id": row.order_id, "amount": row.amount, "currency": row.currency},
            before={"status": "paid", "refund_requested": False},
            after={"status": "paid", "refund_requested": True},
        )
    stamp = int(row.refund_requested_at.timestamp() * 1000)
    return start_job(
        kind="payment_refund",
        task_name="payments.refund",
        owner_id=admin_id,
        params={"payment_id": row.id},
        dedup_key=f"payments.refund:{row.id}:{stamp}",
    )


def refund_through_razorpay(*, payment_id: int) -> tuple[Payment, str | None, bool]:
    """Ask Razorpay to refund the full amount once; returns (payment, refund_id, settled).

    `settled` says Razorpay has refunded it already (processed at once, or a retry after a lost
    answer): the refund flow then marks it refunded; otherwise refund.processed (or reconcile) does.
    A payment already refunded or under refund comes back unchanged; InvalidState unless paid.
    A refusal of ours (not Razorpay's) abandons the request, so an admin may ask again; after a
    gateway error the request stands: Razorpay may have refunded it, and reconcile looks.
    """
    try:
        return _refund_through_razorpay(payment_id)
    except (gateway.GatewayError, gateway.GatewayUnavailable):
        raise
    except DomainError:
        abandon_refund(payment_id=payment_id)
        raise


def _refund_through_razorpay(payment_id: int) -> tuple[Payment, str | None, bool]:
    row = _get(payment_id)
    db.session.commit()
    if row.status == "refunded" or row.refund_id is not None:
        return row, None, False
    if row.status != "paid" or not row.payment_id:
        raise InvalidState(f"Payment {row.id} is {row.status} and cannot be refunded")
    try:
        refund = gateway.refund_payment(row.payment_id, amount=row.amount, notes={"payment": str(row.id)})
    except gateway.GatewayError as exc:
        if exc.retryable:
            raise
        # A retry after a lost answer: Razorpay says it is refunded already.
        entity = gateway.fetch_payment(row.payment_id)
        if entity.get("status") == "refunded" or entity.get("amount_refunded", 0) >= row.amount:
            return row, None, True
        raise
    with unit_of_work():
        row = _locked(payment_id)
        row.refund_id = refund["id"]
    return row, refund["id"], refund.get("status") == "processed"


def abandon_refund(*, payment_id: int) -> None:
    """The refund request failed for good: let an admin ask again."""
    with unit_of_work():
        row = _locked(payment_id)
        if row.status == "paid" and row.refund_id is None:
            row.refund_requested_at = None


# --- reads ----------------------------------------------------------------------------------------
def payment_history(*, user_id: int, page: int = 1, per_page: int = 20) -> Page:
    """The user's payments, newest first."""
    stmt = (
        select(Payment)
        .where(Payment.user_id == user_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )
    return paginate(stmt, page=page, per_page=per_page)


def get_payment_for(*, payment_id: int, user_id: int, is_admin: bool) -> Payment:
    """The payment if the caller owns it or is an admin; NotFound otherwise (never leak existence)."""
    return get_owned(Payment, payment_id, user_id=user_id, is_admin=is_admin)


def find_by_order(order_id: str | None) -> Payment | None:
    if not order_id:
        return None
    return db.session.execute(select(Payment).where(Payment.order_id == order_id)).scalar_one_or_none()


def find_by_razorpay_payment(payment_id: str | None) -> Payment | None:
    if not payment_id:
        return None
    return db.session.execute(select(Payment).where(Payment.payment_id == payment_id)).scalar_one_or_none()


def _get(payment_id: int) -> Payment:
    payment = db.session.execute(
        select(Payment).where(Payment.id == payment_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if payment is None:
        raise not_found("Payment", payment_id)
    return payment


def _locked(payment_id: int) -> Payment:
    """The payment row, locked for the rest of the transaction (SELECT ... FOR UPDATE)."""
    payment = db.session.execute(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if payment is None:
        raise not_found("Payment", payment_id)
    return payment
