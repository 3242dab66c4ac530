"""Razorpay webhooks: check, store once, queue (common/flows/payment_events.py handles them)."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from sqlalchemy import select

from common.db import db, insert_ignore, utcnow
from common.errors import BadRequest
from common.jobs.service import enqueue
from common.jsoninput import safe_json
from common.payments import gateway
from common.payments.models import WebhookEvent

log = logging.getLogger(__name__)
HANDLED_EVENTS = ("payment.captured", "order.paid", "payment.failed", "refund.processed")


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
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("event"), str)
        or not isinstance(event.get("payload"), dict)
    ):
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
    created = insert_ignore(
        WebhookEvent,
        provider="razorpay",
        event_id=event_id,
        event_type=event["event"][:64],
        payload=event,
        status="received" if handled else "ignored",
        received_at=now,
        processed_at=None if handled else now,
    )
    db.session.commit()
    row = db.session.execute(select(WebhookEvent).where(WebhookEvent.event_id == event_id)).scalar_one()
    if created and handled:
        try:
            enqueue("payments.handle_webhook", row.id)
        except Exception:  # the event is stored; payments.reconcile re-queues it
            log.exception("could not queue webhook event %s", row.id)
    return row, created


def retry_backoff(attempts: int) -> timedelta:
    """How long reconcile waits before re-queuing an event that failed `attempts` times.

    1 minute, doubling, 6 hours at most.
    """
    return timedelta(seconds=min(6 * 3600, 60 * 2 ** max(0, attempts - 1)))


# The entity fields _dispatch reads, and the JSON type each must have when present.
_ENTITY_FIELDS = {
    "payment": {"id": str, "order_id": str, "error_description": str, "amount_refunded": int},
    "refund": {"id": str, "payment_id": str, "amount": int},
}


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


def failed_events(*, limit: int = 100) -> list[WebhookEvent]:
    """Webhook events that failed for good (bad payload, unknown payment, or retries exhausted), newest
    first: what an admin list shows; the stored payload allows handling one again by hand."""
    return list(
        db.session.execute(
            select(WebhookEvent)
            .where(WebhookEvent.status == "failed")
            .order_by(WebhookEvent.id.desc())
            .limit(limit)
        ).scalars()
    )
