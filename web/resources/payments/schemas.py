"""Request and response schemas for Razorpay payments."""

import marshmallow as ma

from web.fields import AbsoluteUrl, Timestamp
from web.pagination import page_schema

RAZORPAY_ID = dict(
    validate=[
        ma.validate.Length(min=1, max=64),
        ma.validate.Regexp(r"^[A-Za-z0-9_]+$", error="Not a Razorpay id."),
    ]
)


class OrderRequestSchema(ma.Schema):
    """Only the course: amount and currency always come from the stored course price (other fields: 422)."""

    course_id = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1))


class OrderSchema(ma.Schema):
    order_id = ma.fields.String(metadata={"description": "Razorpay order id, for Checkout's `order_id`"})
    amount = ma.fields.Integer(metadata={"description": "In the currency's smallest unit (paise)"})
    currency = ma.fields.String()
    key_id = ma.fields.String(metadata={"description": "Razorpay key id, for Checkout's `key`"})
    id = ma.fields.Integer(metadata={"description": "Our payment record (GET /api/payments/{id})"})
    course_id = ma.fields.Integer()
    course_title = ma.fields.String()
    receipt = ma.fields.String()
    status = ma.fields.String()
    reused = ma.fields.Boolean(metadata={"description": "True if an open order for this course was reused"})


class VerifyRequestSchema(ma.Schema):
    razorpay_order_id = ma.fields.String(required=True, **RAZORPAY_ID)
    razorpay_payment_id = ma.fields.String(required=True, **RAZORPAY_ID)
    # Checked by the service so that any malformed value is a 400, whatever its type.
    razorpay_signature = ma.fields.Raw(
        required=True, allow_none=True, metadata={"type": "string", "description": "hex HMAC-SHA256"}
    )


class VerifyResultSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "Our payment record (GET /api/payments/{id})"})
    payment_id = ma.fields.String(
        allow_none=True, metadata={"description": "Razorpay's payment id (pay_...)"}
    )
    payment_status = ma.fields.String()
    enrolled = ma.fields.Boolean()
    course_id = ma.fields.Integer(allow_none=True)
    job_id = ma.fields.String(allow_none=True, metadata={"description": "The fulfilment job, null if none"})
    status = ma.fields.String(allow_none=True, metadata={"description": "The fulfilment job's status"})
    status_url = AbsoluteUrl(allow_none=True)


class PaymentSchema(ma.Schema):
    id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    course_id = ma.fields.Integer(allow_none=True)
    course_title = ma.fields.String()
    amount = ma.fields.Integer()
    currency = ma.fields.String()
    order_id = ma.fields.String()
    payment_id = ma.fields.String(
        allow_none=True, metadata={"description": "Razorpay's payment id (pay_...)"}
    )
    status = ma.fields.String()
    failure_reason = ma.fields.String(allow_none=True)
    refund_id = ma.fields.String(allow_none=True)
    created_at = Timestamp()
    verified_at = Timestamp(allow_none=True)
    paid_at = Timestamp(allow_none=True)
    refund_requested_at = Timestamp(allow_none=True)
    refunded_at = Timestamp(allow_none=True)


PaymentPageSchema = page_schema(PaymentSchema)


class WebhookAckSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "received, duplicate or ignored"})
    event_id = ma.fields.String()
