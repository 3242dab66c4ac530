"""Razorpay webhooks (store once, handle in a worker) and the reconciliation of stuck orders and refunds."""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import DataError as SADataError
from sqlalchemy.exc import ProgrammingError as SAProgrammingError

from common.db import db, insert_ignore, utcnow
from common.jsoninput import safe_json
from common.errors import BadRequest, DomainError
from common.jobs.service import enqueue
from common.payments import gateway, service
from common.payments.models import Payment, WebhookEvent

log = logging.getLogger(__name__)
HANDLED_EVENTS = ("payment.captured", "order.paid", "payment.failed", "refund.processed")
RECONCILE_HORIZON = timedelta(days=2)  # older open orders are abandoned carts, not stuck payments


def record_webhook(*, body: bytes, signature, event_id: str | None) -> tuple[WebhookEvent, bool]:
    """Check the signature over the raw body, store the event once and queue its handling.

    Returns (event, created). Commits. BadRequest for a missing/malformed/wrong signature or a body
    that is not a Razorpay event. A replay (same x-razorpay-event-id) is stored and handled once.
    """
    if not gateway.webhook_signature_ok(body, signature):
        log.warning("webhook with a wrong signature (event id %r)", event_id)
        raise BadRequest("Invalid webhook signature")
    try:
        event = safe_json(body)  # the input edge's bounds: depth, numbers, no NUL / lone surrogates
    except ValueError as exc:
        raise BadRequest("Webhook body is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("event"), str) \
            or not isinstance(event.get("payload"), dict):
        raise BadRequest("Webhook body is not a Razorpay event")
    problem = _malformed(event)
    if problem:
        # Signed by Razorpay yet not the shape we act on: refuse it here, never queue a task that fails.
        log.warning("signed webhook refused: %s", problem)
        raise BadRequest(f"Webhook body is not a Razorpay event: {problem}")
    # Razorpay always sends the header; without it an exact replay of the body still dedupes.
    event_id = (event_id or "").strip() or "sha256:" + hashlib.sha256(body).hexdigest()
    if len(event_id) > 128:
        raise BadRequest("x-razorpay-event-id is too long")
    handled = event["event"] in HANDLED_EVENTS
    now = utcnow()
    created = insert_ignore(WebhookEvent, provider="razorpay", event_id=event_id, event_type=event["event"][:64],
                            payload=event, status="received" if handled else "ignored", received_at=now,
                            processed_at=None if handled else now)
    db.session.commit()
    row = db.session.execute(select(WebhookEvent).where(WebhookEvent.event_id == event_id)).scalar_one()
    if created and handled:
        try:
            enqueue("payments.handle_webhook", row.id)
        except Exception:  # the event is stored; payments.reconcile re-queues it
            log.exception("could not queue webhook event %s", row.id)
    return row, created


# The entity fields _dispatch reads, and the JSON type each must have when present.
_ENTITY_FIELDS = {"payment": {"id": str, "order_id": str, "error_description": str, "amount_refunded": int},
                  "refund": {"id": str, "payment_id": str, "amount": int}}


def _malformed(event: dict) -> str | None:
    """Why a handled event's payload cannot be applied, or None."""
    if event["event"] not in HANDLED_EVENTS:
        return None
    for name, fields in _ENTITY_FIELDS.items():
        wrapper = event["payload"].get(name)
        if wrapper is None:
            continue
        entity = wrapper.get("entity") if isinstance(wrapper, dict) else None
        if not isinstance(entity, dict):
            return f"payload.{name}.entity is not an object"
        for field, kind in fields.items():
            value = entity.get(field)
            if value is None:
                continue
            if not isinstance(value, kind) or isinstance(value, bool):
                return f"payload.{name}.entity.{field} is not a {kind.__name__}"
            if kind is str and len(value) > 255:
                return f"payload.{name}.entity.{field} is too long"
            if kind is int and not 0 <= value <= 2**63 - 1:
                return f"payload.{name}.entity.{field} is out of range"
    return None


def handle_webhook_event(*, event_row_id: int) -> str:
    """Apply one stored event; returns its final status. Idempotent (acks_late).

    Retryable gateway errors propagate (the event stays `received` for the retry); any other domain
    error marks the event failed with the reason.
    """
    event = db.session.get(WebhookEvent, event_row_id)
    if event is None or event.status != "received":
        db.session.commit()
        return event.status if event else "missing"
    event_type, payload = event.event_type, event.payload or {}
    db.session.commit()
    try:
        status, note = _dispatch(event_type, payload.get("payload") or {})
    except DomainError as exc:
        db.session.rollback()
        if getattr(exc, "retryable", False):
            raise
        status, note = "failed", exc.message
    except (KeyError, TypeError, AttributeError, ValueError, SADataError, SAProgrammingError) as exc:
        # Malformed beyond what record_webhook checks (e.g. an event stored before it did): failed for
        # good, so neither Celery nor payments.reconcile re-runs it forever.
        db.session.rollback()
        status, note = "failed", f"malformed payload: {exc!r}"
    db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_row_id,
                                                  WebhookEvent.status == "received")
                       .values(status=status, error=note[:1000] if note else None, processed_at=utcnow()))
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
        payment = service.fulfil_payment(payment_id=payment.id, razorpay_payment_id=entity["id"])
        return "processed", None if payment.status == "paid" else f"payment is {payment.status}"
    if event_type == "payment.failed":
        entity = _entity(payload, "payment")
        payment = service.find_by_order(entity.get("order_id"))
        if payment is None:
            return "ignored", f"unknown order {entity.get('order_id')}"
        service.mark_failed(payment.id, razorpay_payment_id=entity.get("id"),
                            reason=entity.get("error_description") or "payment failed")
        return "processed", None
    # refund.processed
    refund = _entity(payload, "refund")
    payment_entity = (payload.get("payment") or {}).get("entity") or {}
    payment = (service.find_by_razorpay_payment(refund.get("payment_id"))
               or service.find_by_order(payment_entity.get("order_id")))
    if payment is None:
        return "ignored", f"unknown payment {refund.get('payment_id')}"
    refunded = max(int(refund.get("amount") or 0), int(payment_entity.get("amount_refunded") or 0))
    if refunded < payment.amount:
        return "ignored", f"partial refund of {refunded} of {payment.amount}; access kept"
    service.mark_refunded(payment.id, refund_id=refund.get("id"))
    return "processed", None


# --- reconciliation -------------------------------------------------------------------------------
def reconcile(*, older_than_seconds: int | None = None, limit: int = 100) -> dict:
    """Settle what webhooks and workers left behind, by asking Razorpay.

    - orders still `created` (verified or not) after a few minutes: settled from the order's payments;
    - refunds requested but not yet marked: marked once Razorpay shows the payment refunded;
    - webhook events still `received`: queued again.
    Stops early if Razorpay is unreachable. Returns counts.
    """
    age = older_than_seconds if older_than_seconds is not None \
        else current_app.config["PAYMENTS_RECONCILE_AFTER_SECONDS"]
    now = utcnow()
    cutoff = now - timedelta(seconds=age)
    stats = {"checked": 0, "paid": 0, "failed": 0, "refunded": 0, "open": 0, "errors": 0, "requeued": 0}
    stuck = db.session.execute(
        select(Payment.id).where(Payment.status == "created", Payment.updated_at < cutoff,
                                 Payment.created_at > now - RECONCILE_HORIZON)
        .order_by(Payment.created_at).limit(limit)
    ).scalars().all()
    refunding = db.session.execute(
        select(Payment.id).where(Payment.status == "paid", Payment.refund_requested_at < cutoff)
        .order_by(Payment.refund_requested_at).limit(limit)
    ).scalars().all()
    db.session.commit()
    try:
        for payment_id in stuck:
            stats["checked"] += 1
            outcome = _reconcile_order(payment_id, stats)
            stats[outcome] += 1
        for payment_id in refunding:
            stats["checked"] += 1
            if _reconcile_refund(payment_id, stats):
                stats["refunded"] += 1
    except gateway.GatewayUnavailable:
        db.session.rollback()
        stats["errors"] += 1
        log.warning("reconcile stopped early: Razorpay unavailable")
    events = db.session.execute(
        select(WebhookEvent.id).where(WebhookEvent.status == "received", WebhookEvent.received_at < cutoff)
        .order_by(WebhookEvent.received_at).limit(limit)
    ).scalars().all()
    db.session.commit()
    for event_row_id in events:
        enqueue("payments.handle_webhook", event_row_id)
        stats["requeued"] += 1
    log.info("payments reconciled: %s", stats)
    return stats


def _reconcile_order(payment_id: int, stats: dict) -> str:
    payment = db.session.get(Payment, payment_id)
    order_id = payment.order_id
    db.session.commit()
    try:
        items = gateway.order_payments(order_id)
        captured = [p for p in items if p.get("status") in ("captured", "refunded")]
        if captured:
            return _outcome(service.settle(payment_id, captured[0]))
        if items and all(p.get("status") == "failed" for p in items):
            return _outcome(service.settle(payment_id, items[0]))
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


def _reconcile_refund(payment_id: int, stats: dict) -> bool:
    payment = db.session.get(Payment, payment_id)
    razorpay_payment_id, amount, refund_id = payment.payment_id, payment.amount, payment.refund_id
    db.session.commit()
    try:
        entity = gateway.fetch_payment(razorpay_payment_id)
    except gateway.GatewayError as exc:
        log.warning("reconcile of refund for payment %s failed: %s", payment_id, exc.message)
        stats["errors"] += 1
        return False
    if entity.get("status") == "refunded" or int(entity.get("amount_refunded") or 0) >= amount:
        service.mark_refunded(payment_id, refund_id=refund_id)
        return True
    if refund_id is None:  # the refund never reached Razorpay: let an admin ask again
        service.abandon_refund(payment_id=payment_id)
    return False
