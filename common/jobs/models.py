"""Background jobs: status lives here, not in the Celery result backend."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from common.db import created_at_column, db

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "expired")


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        # `expired`: a finished report whose file was removed after the retention period.
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'expired')", name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        Index("ix_jobs_owner_created", "owner_id", "created_at"),
        Index("ix_jobs_kind_created", "kind", "created_at"),
        Index("ix_jobs_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    progress: Mapped[int] = mapped_column(default=0, server_default="0")
    params: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(2000))
    result: Mapped[dict | None] = mapped_column(JSON)
    result_url: Mapped[str | None] = mapped_column(String(500))
    # At most one job per dedup key (e.g. one fulfilment per order).
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The task that runs the job (start_job), so a sweeper can send a message that never reached the broker.
    task_name: Mapped[str | None] = mapped_column(String(100))
    enqueued_at: Mapped[datetime | None]  # when a message for it last reached the broker
    send_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # A claim holds the job until then; a redelivered task may take over a `running` job only after it.
    lease_expires_at: Mapped[datetime | None]
