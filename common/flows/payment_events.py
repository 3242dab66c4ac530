"""Razorpay's word on our payments, applied: stored webhook events and the reconciliation of stuck
orders and refunds (each settles through the purchase and refund flows)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import DataError as SADataError
from sqlalchemy.exc import ProgrammingError as SAProgrammingError

from common.db import db, utcnow
from common.errors import DomainError
from common.flows import purchase
from common.flows import refund as refunds
from common.jobs.service import enqueue
from common.payments import gateway, service
from common.payments.models import Payment, WebhookEvent
from common.payments.webhooks import retry_backoff

log = logging.getLogger(__name__)
RECONCILE_HORIZON = timedelta(days=2)  # older open orders are abandoned carts, not stuck payments


def handle_webhook_event(*, event_row_id: int) -> str:
    """Apply one stored event; returns its final status. Idempotent (acks_late).

    Every attempt is counted. Retryable gateway errors propagate (the event stays `received`, and
    reconcile re-queues it only after a growing backoff) until WEBHOOK_MAX_ATTEMPTS, when the event
    is marked `failed` ("gave up ..."); any other domain error marks it failed with the reason.
    """
    event = db.session.get(WebhookEvent, event_row_id, populate_existing=True)
    if event is None or event.status != "received":
        db.session.commit()
        return event.status if event else "missing"
    event_type, payload = event.event_type, event.payload or {}
    attempts = event.attempts + 1
    event.attempts = attempts
    db.session.commit()
    try:
        status, note = _dispatch(event_type, payload.get("payload") or {})
    except DomainError as exc:
        db.session.rollback()
        if not getattr(exc, "retryable", False):
            status, note = "failed", exc.message
        elif attempts >= current_app.config["WEBHOOK_MAX_ATTEMPTS"]:
            status, note = "failed", f"gave up after {attempts} attempts: {exc.message}"
            log.error("webhook event %s (%s): %s", event_row_id, event_type, note)
        else:
            db.session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_row_id)
                .values(
                    next_attempt_at=utcnow() + retry_backoff(attempts),
                    error=f"attempt {attempts}: {exc.message}"[:1000],
                )
            )
            db.session.commit()
            raise
    except (KeyError, TypeError, AttributeError, ValueError, SADataError, SAProgrammingError) as exc:
        # Malformed beyond what record_webhook checks (e.g. an event stored before it did): failed for
        # good, so neither Celery nor payments.reconcile re-runs it forever.
        db.session.rollback()
        status, note = "failed", f"malformed payload: {exc!r}"
    db.session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_row_id, WebhookEvent.status == "received")
        .values(status=status, error=note[:1000] if note else None, processed_at=utcnow())
    )
    db.session.commit()
    log.info("webhook event %s (%s): %s %s", event_row_id, event_type, status, note or "")
    return status


def _entity(payload: dict, name: str) -> dict:
    entity = (payload.get(name) or {}).get("entity")
    if not isinstance(entity, dict):
        raise KeyError(f"payload.{name}.entity")
    return entity


def _dispatch(event_type: str, payload: dict) -> tuple[str, str | None]:
    if event_type in ("payment.captured", "order.paid"):
        entity = _entity(payload, "payment")
        payment = service.find_by_order(entity.get("order_id"))
        if payment is None:
            return "ignored", f"unknown order {entity.get('order_id')}"
        # Trust Razorpay's API, not the event snapshot: fulfilment fetches the payment and checks it.
        payment = purchase.fulfil_payment(payment_id=payment.id, razorpay_payment_id=entity["id"])
        return "processed", None if payment.status == "paid" else f"payment is {payment.status}"
    if event_type == "payment.failed":
        entity = _entity(payload, "payment")
        payment = service.find_by_order(entity.get("order_id"))
        if payment is None:
            return "ignored", f"unknown order {entity.get('order_id')}"
        service.mark_failed(
            payment.id,
            razorpay_payment_id=entity.get("id"),
            reason=entity.get("error_description") or "payment failed",
        )
        return "processed", None
    # refund.processed
    refund = _entity(payload, "refund")
    payment_entity = (payload.get("payment") or {}).get("entity") or {}
    payment = service.find_by_razorpay_payment(refund.get("payment_id")) or service.find_by_order(
        payment_entity.get("order_id")
    )
    if payment is None:
        return "ignored", f"unknown payment {refund.get('payment_id')}"
    refunded = max(int(refund.get("amount") or 0), int(payment_entity.get("amount_refunded") or 0))
    if refunded < payment.amount:
        return "ignored", f"partial refund of {refunded} of {payment.amount}; access kept"
    refunds.mark_refunded(
        payment.id, refund_id=refund.get("id"), razorpay_payment_id=refund.get("payment_id")
    )
    return "processed", None


# --- reconciliation -------------------------------------------------------------------------------
def reconcile(
    *, older_than_seconds: int | None = None, limit: int = 100, budget_seconds: float | None = None
) -> dict:
    """Settle what webhooks and workers left behind, by asking Razorpay.

    - orders still `created` after a few minutes: verified ones (with a payment id) first, then the
      least recently checked (each check is stamped in `checked_at`), so abandoned carts never
      starve a paid order; settled from the order's payments;
    - refunds requested but not yet marked: marked once Razorpay shows the payment refunded;
    - webhook events still `received` whose backoff has passed: queued again.
    Stops early if Razorpay is unreachable, and stops asking once `budget_seconds`
    (PAYMENTS_RECONCILE_BUDGET_SECONDS) is spent; what is left is counted as `deferred`. Returns counts.
    """
    config = current_app.config
    age = older_than_seconds if older_than_seconds is not None else config["PAYMENTS_RECONCILE_AFTER_SECONDS"]
    budget = config["PAYMENTS_RECONCILE_BUDGET_SECONDS"] if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    now = utcnow()
    cutoff = now - timedelta(seconds=age)
    stats = {
        "checked": 0,
        "paid": 0,
        "failed": 0,
        "refunded": 0,
        "open": 0,
        "errors": 0,
        "requeued": 0,
        "deferred": 0,
    }
    stuck = (
        db.session.execute(
            select(Payment.id)
            .where(
                Payment.status == "created",
                Payment.updated_at < cutoff,
                Payment.created_at > now - RECONCILE_HORIZON,
            )
            .order_by(
                Payment.payment_id.is_(None), Payment.checked_at.asc().nulls_first(), Payment.created_at
            )
            .limit(limit)
        )
        .scalars()
        .all()
    )
    refunding = (
        db.session.execute(
            select(Payment.id)
            .where(Payment.status == "paid", Payment.refund_requested_at < cutoff)
            .order_by(Payment.refund_requested_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    work = [(_reconcile_order, payment_id) for payment_id in stuck] + [
        (_reconcile_refund, payment_id) for payment_id in refunding
    ]
    try:
        for n, (check, payment_id) in enumerate(work):
            if time.monotonic() >= deadline:
                stats["deferred"] = len(work) - n
                log.warning(
                    "reconcile stopped at its %ss budget; %s left for the next run", budget, stats["deferred"]
                )
                break
            stats["checked"] += 1
            _stamp_checked(payment_id)
            outcome = check(payment_id, stats)
            if outcome:
                stats[outcome] += 1
    except gateway.GatewayUnavailable:
        db.session.rollback()
        stats["errors"] += 1
        log.warning("reconcile stopped early: Razorpay unavailable")
    events = (
        db.session.execute(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.status == "received",
                WebhookEvent.received_at < cutoff,
                or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= now),
            )
            .order_by(WebhookEvent.received_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    for event_row_id in events:
        enqueue("payments.handle_webhook", event_row_id)
        stats["requeued"] += 1
    log.info("payments reconciled: %s", stats)
    return stats


def _stamp_checked(payment_id: int) -> None:
    # No updated_at bump: the stamp is bookkeeping, not a change of the payment.
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment_id)
        .values(checked_at=utcnow(), updated_at=Payment.updated_at)
    )
    db.session.commit()


def _reconcile_order(payment_id: int, stats: dict) -> str:
    payment = db.session.get(Payment, payment_id)
    order_id = payment.order_id
    db.session.commit()
    try:
        items = gateway.order_payments(order_id)
        captured = [p for p in items if p.get("status") in ("captured", "refunded")]
        if captured:
            return _outcome(purchase.settle(payment_id, captured[0]))
        if items and all(p.get("status") == "failed" for p in items):
            return _outcome(purchase.settle(payment_id, items[0]))
        return "open"
    except gateway.GatewayUnavailable:
        raise
    except DomainError as exc:
        db.session.rollback()
        log.warning("reconcile of payment %s failed: %s", payment_id, exc.message)
        stats["errors"] += 1
        return "open"


def _outcome(payment: Payment) -> str:
    return {"paid": "paid", "failed": "failed", "refunded": "refunded"}.get(payment.status, "open")


def _reconcile_refund(payment_id: int, stats: dict) -> str | None:
    payment = db.session.get(Payment, payment_id)
    razorpay_payment_id, amount, refund_id = payment.payment_id, payment.amount, payment.refund_id
    db.session.commit()
    try:
        entity = gateway.fetch_payment(razorpay_payment_id)
    except gateway.GatewayError as exc:
        log.warning("reconcile of refund for payment %s failed: %s", payment_id, exc.message)
        stats["errors"] += 1
        return None
    if entity.get("status") == "refunded" or int(entity.get("amount_refunded") or 0) >= amount:
        refunds.mark_refunded(payment_id, refund_id=refund_id)
        return "refunded"
    if refund_id is None:  # the refund never reached Razorpay: let an admin ask again
        service.abandon_refund(payment_id=payment_id)
    return None
