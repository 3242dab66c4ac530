"""Celery tasks of the payments domain: fulfil verified orders, handle webhooks, refund, reconcile."""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy.exc import OperationalError

from common.errors import DomainError
from common.flows import payment_events, purchase
from common.flows import refund as refunds
from common.jobs import service as jobs
from common.payments import gateway, service

log = logging.getLogger(__name__)
RETRYABLE = (gateway.GatewayError, gateway.GatewayUnavailable)
# The database dropped the connection under the task (restart, failover, pg_terminate_backend): every
# task here is idempotent, so it is retried; the pool's pre-ping hands the retry a live connection.
DATABASE_LOST = (OperationalError,)
# Celery retries what a task re-raises of these: exponential backoff from 5 s, full jitter, at most
# 5 minutes apart, 6 times; then the task fails (and payments.reconcile settles what is left).
RETRY_POLICY = {
    "autoretry_for": RETRYABLE + DATABASE_LOST,
    "max_retries": 6,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
}


def _final(task) -> bool:
    # In-process (embedded default) a retry would run at once in the request's thread: try once and
    # leave the rest to payments.reconcile.
    return task.request.is_eager or task.request.retries >= task.max_retries


# acks_late: fulfilment is idempotent (row lock + state check + unique enrollment), so a worker that
# dies mid-task gets it redelivered and the result is still one payment and one enrollment.
@shared_task(name="payments.fulfil_order", bind=True, acks_late=True, ignore_result=True, **RETRY_POLICY)
def fulfil_order(self, job_id: str) -> None:
    """Fetch the verified payment from Razorpay, check it, mark it paid and enroll (job-tracked)."""
    if not jobs.claim(job_id):  # finished, or another worker holds it under a live lease
        return
    params = jobs.get_job(job_id).params or {}
    try:
        payment = purchase.fulfil_payment(
            payment_id=params["payment_id"], razorpay_payment_id=params["razorpay_payment_id"]
        )
    except RETRYABLE as exc:
        if exc.retryable and not _final(self):
            jobs.release(job_id)  # the retry claims it again
            raise
        jobs.fail(job_id, exc.message)
        return
    except DATABASE_LOST as exc:
        log.warning("fulfilment job %s lost its database connection; retrying: %s", job_id, exc)
        jobs.release(job_id)
        raise
    except DomainError as exc:
        jobs.fail(job_id, exc.message)
        return
    outcome = service.fulfilment_outcome(payment)
    if outcome.succeeded:
        jobs.succeed(job_id, result=outcome.result)
    else:
        jobs.fail(job_id, outcome.error)


@shared_task(name="payments.handle_webhook", bind=True, acks_late=True, ignore_result=True, **RETRY_POLICY)
def handle_webhook(self, event_row_id: int) -> str:
    """Apply one stored Razorpay webhook event (idempotent)."""
    try:
        return payment_events.handle_webhook_event(event_row_id=event_row_id)
    except DATABASE_LOST as exc:
        log.warning("webhook event %s lost its database connection; retrying: %s", event_row_id, exc)
        raise
    except RETRYABLE as exc:
        if _final(self):
            log.warning("webhook event %s left for reconcile: %s", event_row_id, exc.message)
            return "received"
        raise


# Not acks_late: it calls Razorpay's refund API; a lost task is caught by payments.reconcile instead.
@shared_task(name="payments.refund", bind=True, ignore_result=True, **RETRY_POLICY)
def refund(self, job_id: str) -> None:
    """Refund a paid payment through Razorpay (job-tracked)."""
    if not jobs.claim(job_id):
        return
    payment_id = (jobs.get_job(job_id).params or {})["payment_id"]
    try:
        payment = refunds.execute_refund(payment_id=payment_id)
    except RETRYABLE as exc:
        if exc.retryable and not _final(self):
            jobs.release(job_id)  # the retry claims it again
            raise
        # Razorpay may have refunded without us hearing back: payments.reconcile looks and settles.
        jobs.fail(job_id, exc.message)
        return
    except DomainError as exc:  # refused for good (the service lets an admin ask again)
        jobs.fail(job_id, exc.message)
        return
    jobs.succeed(
        job_id,
        result={"payment_id": payment.id, "payment_status": payment.status, "refund_id": payment.refund_id},
    )


@shared_task(name="payments.reconcile", ignore_result=True)
def reconcile() -> dict:
    """Beat (every 5 minutes): settle stuck orders and refunds from Razorpay, re-queue stuck webhooks."""
    return payment_events.reconcile()
