"""Q&A forum: posts, replies, votes and moderation flags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import UpdatedAtMixin, created_at_column, db

FLAG_REASONS = ("spam", "abuse", "off_topic", "other")
FLAG_STATUSES = ("open", "hidden", "dismissed")

# Full-text search over a post's title and body (GET /courses/{id}/posts?q=); PostgreSQL only.
POST_SEARCH_EXPR = "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(body, ''))"


class Post(UpdatedAtMixin, db.Model):
    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint("reply_count >= 0", name="reply_count_non_negative"),
        Index("ix_posts_course_created", "course_id", "created_at"),
        Index("ix_posts_course_votes", "course_id", "votes"),
        Index("ix_posts_course_unanswered", "course_id", "reply_count", "created_at"),
        Index("ix_posts_module_created", "module_id", "created_at"),
        Index("ix_posts_user_id", "user_id"),
        Index("ix_posts_accepted_reply_id", "accepted_reply_id"),
        Index("ix_posts_search", text(POST_SEARCH_EXPR), postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    # Deleting a module keeps its questions as course-wide posts.
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="SET NULL"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Sum of the post's votes, kept by forum.service.vote under a lock on this row.
    votes: Mapped[int] = mapped_column(default=0, server_default="0")
    # Visible (not hidden) replies only.
    reply_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # posts <-> replies is a cycle: the constraint is added after both tables exist.
    accepted_reply_id: Mapped[int | None] = mapped_column(
        ForeignKey("replies.id", ondelete="SET NULL", use_alter=True)
    )
    hidden: Mapped[bool] = mapped_column(default=False, server_default="0")
    edited_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()

    user = relationship("User", lazy="joined", innerjoin=True)


class Reply(UpdatedAtMixin, db.Model):
    __tablename__ = "replies"
    __table_args__ = (
        Index("ix_replies_post_created", "post_id", "created_at"),
        Index("ix_replies_post_votes", "post_id", "votes"),
        Index("ix_replies_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    votes: Mapped[int] = mapped_column(default=0, server_default="0")
    hidden: Mapped[bool] = mapped_column(default=False, server_default="0")
    edited_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()

    user = relationship("User", lazy="joined", innerjoin=True)


class Vote(db.Model):
    """One vote per user per post or reply (exactly one of the two targets)."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id"),
        UniqueConstraint("reply_id", "user_id"),
        CheckConstraint("value IN (-1, 1)", name="value"),
        CheckConstraint("(post_id IS NULL) <> (reply_id IS NULL)", name="exactly_one_target"),
        Index("ix_votes_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    value: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()


class Flag(db.Model):
    __tablename__ = "flags"
    __table_args__ = (
        UniqueConstraint("user_id", "post_id"),
        UniqueConstraint("user_id", "reply_id"),
        CheckConstraint("(post_id IS NULL) <> (reply_id IS NULL)", name="exactly_one_target"),
        CheckConstraint("status IN ('open', 'hidden', 'dismissed')", name="status"),
        CheckConstraint("reason IN ('spam', 'abuse', 'off_topic', 'other')", name="reason"),
        Index("ix_flags_status_created", "status", "created_at"),
        Index("ix_flags_post_status", "post_id", "status"),
        Index("ix_flags_reply_status", "reply_id", "status"),
        Index("ix_flags_resolved_by_id", "resolved_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
