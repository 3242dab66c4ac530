"""Courses, modules and lessons: the authored catalogue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import UpdatedAtMixin, created_at_column, db

COURSE_STATUSES = ("draft", "pending", "approved", "rejected")


class Course(UpdatedAtMixin, db.Model):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'pending', 'approved', 'rejected')", name="status"),
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("enrollment_count >= 0", name="enrollment_count_non_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        Index("ix_courses_status_domain_created", "status", "domain", "created_at"),
        Index("ix_courses_status_created", "status", "created_at"),
        Index("ix_courses_status_popular", "status", "enrollment_count"),
        Index("ix_courses_status_price", "status", "price"),
        Index("ix_courses_instructor_id", "instructor_id"),
        # Full-text search over the catalogue on PostgreSQL; SQLite ignores the dialect option
        # and builds a plain index on the title instead.
        Index(
            "ix_courses_search",
            text("to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, ''))"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instructor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    domain: Mapped[str] = mapped_column(String(64))
    price: Mapped[int] = mapped_column(default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), default="INR", server_default="INR")
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    rejection_reason: Mapped[str | None] = mapped_column(String(2000))
    # Denormalised counter for the `popular` sort and the admin stats; kept by the learning service.
    enrollment_count: Mapped[int] = mapped_column(default=0, server_default="0")
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()

    instructor = relationship("User", lazy="joined", innerjoin=True)
    modules = relationship(
        "Module",
        back_populates="course",
        order_by="Module.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Module(UpdatedAtMixin, db.Model):
    __tablename__ = "modules"
    __table_args__ = (
        UniqueConstraint("course_id", "position"),
        CheckConstraint("position >= 0", name="position_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()

    course = relationship("Course", back_populates="modules")
    lessons = relationship(
        "Lesson",
        back_populates="module",
        order_by="Lesson.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Lesson(UpdatedAtMixin, db.Model):
    __tablename__ = "lessons"
    __table_args__ = (
        UniqueConstraint("module_id", "position"),
        CheckConstraint("position >= 0", name="position_non_negative"),
        CheckConstraint("duration_seconds IS NULL OR duration_seconds >= 0", name="duration_non_negative"),
        Index("ix_lessons_course_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    # Denormalised from the module so progress and completion count per course without a join.
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    video_url: Mapped[str] = mapped_column(String(2048))
    materials_url: Mapped[str | None] = mapped_column(String(2048))
    subtitle_url: Mapped[str | None] = mapped_column(String(2048))
    duration_seconds: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()

    module = relationship("Module", back_populates="lessons")
