"""Enrollments and per-lesson progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import created_at_column, db

ENROLLMENT_SOURCES = ("free", "payment", "admin", "seed")
ENROLLMENT_STATUSES = ("active", "revoked")


class Enrollment(db.Model):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        CheckConstraint("status IN ('active', 'revoked')", name="status"),
        CheckConstraint("source IN ('free', 'payment', 'admin', 'seed')", name="source"),
        Index("ix_enrollments_course_status", "course_id", "status"),
        Index("ix_enrollments_user_enrolled", "user_id", "enrolled_at"),
        Index("ix_enrollments_enrolled_at", "enrolled_at"),
        Index("ix_enrollments_payment_id", "payment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    source: Mapped[str] = mapped_column(String(16), default="free", server_default="free")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    enrolled_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    course = relationship("Course", lazy="joined", innerjoin=True)


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (
        UniqueConstraint("user_id", "lesson_id"),
        Index("ix_lesson_progress_user_course", "user_id", "course_id"),
        Index("ix_lesson_progress_lesson_id", "lesson_id"),
        Index("ix_lesson_progress_course_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    completed_at: Mapped[datetime] = created_at_column()
