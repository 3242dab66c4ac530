"""XP events, badges and the precomputed leaderboards."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.db import created_at_column, db

XP_TYPES = ("lesson_complete", "quiz_pass", "forum_post")


class XpEvent(db.Model):
    __tablename__ = "xp_events"
    __table_args__ = (
        # One award per (user, type, source): completing a lesson twice or passing a quiz twice
        # can never pay twice, whatever the concurrency.
        UniqueConstraint("user_id", "type", "source_id"),
        CheckConstraint("type IN ('lesson_complete', 'quiz_pass', 'forum_post')", name="type"),
        CheckConstraint("points >= 0", name="points_non_negative"),
        Index("ix_xp_events_timestamp", "timestamp"),
        Index("ix_xp_events_user_timestamp", "user_id", "timestamp"),
        Index("ix_xp_events_course_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    points: Mapped[int]
    # The lesson, quiz or post that earned the points.
    source_id: Mapped[int]
    # The course it happened in (for per-domain leaderboards); kept when the course goes.
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    domain: Mapped[str | None] = mapped_column(String(64))
    timestamp: Mapped[datetime] = created_at_column()


class Badge(db.Model):
    __tablename__ = "badges"
    __table_args__ = (CheckConstraint("threshold >= 1", name="threshold_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500))
    # What is counted (xp_total, lesson_complete, quiz_pass, forum_post, course_complete) and how many.
    criterion: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[int]


class UserBadge(db.Model):
    __tablename__ = "user_badges"
    __table_args__ = (UniqueConstraint("user_id", "badge_id"), Index("ix_user_badges_badge_id", "badge_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    badge_id: Mapped[int] = mapped_column(ForeignKey("badges.id", ondelete="CASCADE"))
    awarded_at: Mapped[datetime] = created_at_column()


class LeaderboardEntry(db.Model):
    """One ranked row of a rebuilt leaderboard; `domain` is '' for the all-domain board.

    Derived data, replaced wholesale by every rebuild: keyed by the board and the user, with no
    surrogate id and no foreign key to check on ~10^5 inserted rows (a deleted user simply drops
    out at the next rebuild; reads join users).
    """

    __tablename__ = "leaderboard_entries"
    __table_args__ = (
        CheckConstraint("period IN ('weekly', 'monthly')", name="period"),
        Index("ix_leaderboard_entries_board_rank", "period", "period_start", "domain", "rank"),
    )

    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    period_start: Mapped[date] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(64), primary_key=True, default="", server_default="")
    user_id: Mapped[int] = mapped_column(primary_key=True)
    points: Mapped[int]
    rank: Mapped[int]
