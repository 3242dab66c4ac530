"""Validly signed but malformed webhooks: refused at intake (400, nothing stored, nothing queued);
a malformed event already stored ends `failed` instead of crashing its task and being re-queued."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from common.db import db
from common.flows.payment_events import handle_webhook_event, reconcile
from common.payments.models import WebhookEvent
from standins.razorpay import sign

URL = "/api/payments/webhook"


def signed(body: bytes) -> dict:
    return {
        "X-Razorpay-Signature": sign(body, "suite-webhook-secret"),
        "Content-Type": "application/json",
        "x-razorpay-event-id": "evt_Malformed1",
    }


def events():
    db.session.expire_all()
    return db.session.execute(select(WebhookEvent).order_by(WebhookEvent.id)).scalars().all()


@pytest.mark.parametrize(
    "payload",
    [
        {"refund": {}},
        {"refund": {"entity": {"id": "rfnd_1", "payment_id": "pay_1", "amount": "12x"}}},
        {"payment": {"entity": {"id": 5, "order_id": "order_1"}}},
        {"payment": {"entity": {"id": "pay_1", "order_id": {"$ne": None}}}},
        {"payment": {"entity": {"id": "pay_1", "order_id": "o" * 300}}},
        {"payment": "entity"},
        {"refund": {"entity": {"id": "rfnd_1", "amount": 10**30}}},
    ],
)
def test_signed_malformed_payload_is_400_and_stores_nothing(client, payload):
    body = json.dumps(
        {"event": "refund.processed" if "refund" in payload else "payment.captured", "payload": payload}
    ).encode()
    response = client.post(URL, data=body, headers=signed(body))
    assert response.status_code == 400 and response.get_json()["code"] == 400
    assert events() == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"event": "payment.cap\\u0000tured", "payload": {}}',
        b'{"event": "payment.captured", "payload": {"x": "\\ud800"}}',
        b'{"event": "order.paid", "payload": ' + b"[" * 200 + b"]" * 200 + b"}",
    ],
)
def test_signed_nul_surrogate_or_deep_body_is_400(client, body):
    response = client.post(URL, data=body, headers=signed(body))
    assert response.status_code == 400 and response.get_json()["code"] == 400
    assert events() == []


@pytest.mark.parametrize(
    "payload,reason",
    [
        ({"refund": {}}, "malformed"),
        ({"refund": {"entity": {"id": "rfnd_1", "payment_id": {"$ne": None}}}}, "malformed"),
    ],
)
def test_stored_malformed_event_ends_failed_and_is_not_requeued(payload, reason):
    """Rows stored before intake checked their shape: the handler marks them failed for good."""
    from common.db import utcnow

    row = WebhookEvent(
        provider="razorpay",
        event_id="evt_Old1",
        event_type="refund.processed",
        payload={"event": "refund.processed", "payload": payload},
        status="received",
        received_at=utcnow(),
    )
    db.session.add(row)
    db.session.commit()
    assert handle_webhook_event(event_row_id=row.id) == "failed"
    [event] = events()
    assert event.status == "failed" and reason in event.error
    assert reconcile(older_than_seconds=0)["requeued"] == 0
