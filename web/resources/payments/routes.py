"""Razorpay payments: order, Checkout verification, webhook, history, one payment, admin refund."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from common.payments import service, webhooks
from web.auth import auth_required, current_user_id, is_admin
from web.extensions import limiter
from web.fields import absolute_url
from web.pagination import PaginationArgs, page_response
from web.resources.jobs.schemas import JobAcceptedSchema, accepted
from web.resources.payments.schemas import (
    OrderRequestSchema,
    OrderSchema,
    PaymentPageSchema,
    PaymentSchema,
    VerifyRequestSchema,
    VerifyResultSchema,
    WebhookAckSchema,
)

blp = Blueprint("payments", __name__, url_prefix="/api", description="Razorpay payments")


def _payments_limit():
    return current_app.config["RATELIMIT_PAYMENTS"]


@blp.route("/payments/order", methods=["POST"])
@limiter.limit(_payments_limit)
@auth_required("student")
@blp.arguments(OrderRequestSchema)
@blp.response(201, OrderSchema)
@blp.alt_response(200, schema=OrderSchema, description="An open order for this course was reused")
@blp.alt_response(404, description="Unknown or unpublished course")
@blp.alt_response(409, description="Already enrolled, free course, or a payment is being processed")
@blp.alt_response(502, description="Razorpay refused or answered badly; nothing was stored")
@blp.alt_response(503, description="Razorpay unreachable or too slow; nothing was stored")
def create_order(data):
    """Create (or reuse) a Razorpay order for a course at its stored price, for Checkout."""
    payment, created = service.create_order(user_id=current_user_id(), course_id=data["course_id"])
    body = {
        "order_id": payment.order_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "key_id": current_app.config["RAZORPAY_KEY_ID"],
        "id": payment.id,
        "course_id": payment.course_id,
        "course_title": payment.course_title,
        "receipt": payment.receipt,
        "status": payment.status,
        "reused": not created,
    }
    return body, 201 if created else 200


@blp.route("/payments/verify", methods=["POST"])
@limiter.limit(_payments_limit)
@auth_required("student")
@blp.arguments(VerifyRequestSchema)
@blp.response(200, VerifyResultSchema)
@blp.alt_response(
    202, schema=VerifyResultSchema, description="Verified; enrollment in progress (poll the job)"
)
@blp.alt_response(400, description="Malformed or wrong signature")
@blp.alt_response(404, description="No such order of yours")
@blp.alt_response(409, description="Order already paid with another payment, or refunded")
def verify(data):
    """Verify Checkout's signature for your order; enrollment is done (200) or in progress (202)."""
    payment, job = service.verify_payment(
        user_id=current_user_id(),
        order_id=data["razorpay_order_id"],
        payment_id=data["razorpay_payment_id"],
        signature=data["razorpay_signature"],
    )
    body = {
        "id": payment.id,
        "payment_id": payment.payment_id,
        "payment_status": payment.status,
        "enrolled": payment.status == "paid",
        "course_id": payment.course_id,
        "job_id": None,
        "status": None,
        "status_url": None,
    }
    if payment.status == "paid":
        if job is not None:
            body.update(job_id=job.id, status=job.status, status_url=absolute_url(f"/api/jobs/{job.id}"))
        return body
    job_body, code, headers = accepted(job)
    return {**body, **job_body}, code, headers


@blp.route("/payments/webhook", methods=["POST"])
@limiter.exempt
@blp.response(200, WebhookAckSchema)
@blp.alt_response(400, description="Missing, malformed or wrong X-Razorpay-Signature, or not an event")
def webhook():
    """Razorpay webhook: signature over the raw body; stored once, handled by a worker."""
    event, created = webhooks.record_webhook(
        body=request.get_data(cache=True),
        signature=request.headers.get("X-Razorpay-Signature"),
        event_id=request.headers.get("X-Razorpay-Event-Id"),
    )
    status = "duplicate" if not created else ("ignored" if event.status == "ignored" else "received")
    return {"status": status, "event_id": event.event_id}


@blp.route("/payments/history", methods=["GET"])
@auth_required("student")
@blp.arguments(PaginationArgs, location="query")
@blp.response(200, PaymentPageSchema)
def history(args):
    """Your payments, newest first."""
    page = service.payment_history(user_id=current_user_id(), **args)
    return page_response(page)


@blp.route("/payments/<int:payment_id>", methods=["GET"])
@auth_required()
@blp.response(200, PaymentSchema)
@blp.alt_response(404, description="Unknown payment, or not yours")
def get_payment(payment_id):
    """One payment (its owner or an admin)."""
    return service.get_payment_for(payment_id=payment_id, user_id=current_user_id(), is_admin=is_admin())


@blp.route("/admin/payments/<int:payment_id>/refund", methods=["POST"])
@auth_required("admin")
@blp.response(202, JobAcceptedSchema)
@blp.alt_response(404, description="Unknown payment")
@blp.alt_response(409, description="Not paid, or a refund is already under way")
def refund(payment_id):
    """Admin: refund a paid payment through Razorpay (a job); access is revoked once it is processed."""
    return accepted(service.request_refund(payment_id=payment_id, admin_id=current_user_id()))
