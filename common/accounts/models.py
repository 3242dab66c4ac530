"""User accounts: credentials, role, suspension and the token version that revokes sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from common.db import UpdatedAtMixin, created_at_column, db

ROLES = ("student", "instructor", "admin")
USER_STATUSES = ("active", "suspended")


class User(UpdatedAtMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('student', 'instructor', 'admin')", name="role"),
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("xp_total >= 0", name="xp_total_non_negative"),
        Index("ix_users_role_created", "role", "created_at"),
        Index("ix_users_status", "status"),
        Index("ix_users_created_at", "created_at"),
        # Trigram indexes for the admin search (case-insensitive substring of email or name).
        Index("ix_users_email_trgm", text("lower(email) gin_trgm_ops"), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
        Index("ix_users_name_trgm", text("lower(name) gin_trgm_ops"), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased so the unique index is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="student", server_default="student")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    # Bumped on suspension, password change and role change: every token carrying an older
    # version stops working at once.
    token_version: Mapped[int] = mapped_column(default=1, server_default="1")
    xp_total: Mapped[int] = mapped_column(default=0, server_default="0")
    google_sub: Mapped[str | None] = mapped_column(String(255), unique=True)
    email_verified: Mapped[bool] = mapped_column(default=False, server_default="0")
    suspended_reason: Mapped[str | None] = mapped_column(String(500))
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<User {self.id} {self.email} {self.role}>"


class TokenFamily(db.Model):
    """One login session: the refresh token that may be used next and the access token issued with it.

    The truth for refresh-token rotation and logout (Redis only caches it): a rotated refresh token
    presented again revokes the whole family (OAuth 2.0 Security BCP, refresh token reuse detection).
    """

    __tablename__ = "token_families"
    __table_args__ = (
        Index("ix_token_families_user_id", "user_id"),
        Index("ix_token_families_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    refresh_jti: Mapped[str] = mapped_column(String(36))
    access_jti: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = created_at_column()
    rotated_at: Mapped[datetime | None]
    # When the newest refresh token of the family expires: a row past it may be deleted.
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(16))
