"""Course-completion certificates and their rendered PDFs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import created_at_column, db

CERTIFICATE_STATUSES = ("pending", "ready", "failed")


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        CheckConstraint("status IN ('pending', 'ready', 'failed')", name="status"),
        Index("ix_certificates_user_issued", "user_id", "issue_date"),
        Index("ix_certificates_status", "status"),
        Index("ix_certificates_course_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # SET NULL: a certificate on someone's CV stays verifiable after its course is deleted;
    # the snapshots below keep what it certifies.
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    learner_name: Mapped[str] = mapped_column(String(120))
    course_title: Mapped[str] = mapped_column(String(200))
    instructor_name: Mapped[str] = mapped_column(String(120))
    verification_code: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    storage_key: Mapped[str | None] = mapped_column(String(255))
    render_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_attempt_at: Mapped[datetime | None]  # the sweep backs off from this
    error: Mapped[str | None] = mapped_column(String(1000))
    issue_date: Mapped[datetime] = created_at_column()
    rendered_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
