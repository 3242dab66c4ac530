"""Razorpay payments and the webhook events received for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from common.db import UpdatedAtMixin, created_at_column, db

PAYMENT_STATUSES = ("created", "paid", "failed", "refunded")
REFUND_PENDING = "status = 'paid' AND refund_requested_at IS NOT NULL"


class Payment(UpdatedAtMixin, db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("status IN ('created', 'paid', 'failed', 'refunded')", name="status"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        Index("ix_payments_user_created", "user_id", "created_at"),
        Index("ix_payments_user_course_status", "user_id", "course_id", "status"),
        Index("ix_payments_status_updated", "status", "updated_at"),
        Index("ix_payments_course_status", "course_id", "status"),
        Index("ix_payments_status_paid", "status", "paid_at"),
        Index("ix_payments_refunded_at", "refunded_at"),
        Index("ix_payments_duplicate_of_id", "duplicate_of_id"),
        # The refund sweep of payments.reconcile: paid payments with a refund requested, oldest first.
        Index(
            "ix_payments_refund_pending",
            "refund_requested_at",
            postgresql_where=text(REFUND_PENDING),
            sqlite_where=text(REFUND_PENDING),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # RESTRICT: deleting a user must never silently remove their money trail.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # SET NULL: a deleted course keeps its payments; the title snapshot keeps them readable.
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    course_title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="INR", server_default="INR")
    receipt: Mapped[str] = mapped_column(String(40), unique=True)
    order_id: Mapped[str] = mapped_column(String(64), unique=True)
    payment_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="created", server_default="created")
    verified_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    refund_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    refund_requested_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    # payments.reconcile: when it last asked Razorpay about this order (least recently checked first).
    checked_at: Mapped[datetime | None]
    # A second captured payment for a course this payment's user already had (double charge, refunded).
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class WebhookEvent(db.Model):
    __tablename__ = "webhook_events"
    __table_args__ = (
        CheckConstraint("status IN ('received', 'processed', 'ignored', 'failed')", name="status"),
        Index("ix_webhook_events_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), default="razorpay", server_default="razorpay")
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="received", server_default="received")
    error: Mapped[str | None] = mapped_column(String(1000))
    received_at: Mapped[datetime] = created_at_column()
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # handling attempts so far
    next_attempt_at: Mapped[datetime | None]  # reconcile re-queues a failing event only after this
