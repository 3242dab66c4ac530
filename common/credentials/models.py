"""One issued Open Badges credential: its id, the learner's salted identity hash and its status bit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from common.db import db

CREDENTIAL_KINDS = ("certificate", "badge")


class Credential(db.Model):
    """An OpenBadgeCredential as issued; its row id is its index in status list 1.

    A revocation is final (Bitstring Status List v1.0, statusPurpose "revocation" is not reversible):
    a certificate earned again after a refund gets a new credential. SET NULL keeps the row (and so
    the index) when its certificate or badge award is deleted; such an orphan counts as revoked.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        CheckConstraint("kind IN ('certificate', 'badge')", name="kind"),
        # One live credential per certificate and per badge award; revoked ones stay as history.
        Index(
            "uq_credentials_live_certificate",
            "certificate_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
        Index(
            "uq_credentials_live_user_badge",
            "user_badge_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Plain indexes as well as the partial unique ones: deleting a certificate or award sets these null.
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL"), index=True
    )
    user_badge_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_badges.id", ondelete="SET NULL"), index=True
    )
    # "sha256$<hex>" of the normalised email + salt (OB 3.0 IdentityHash), snapshotted at issue.
    identity_hash: Mapped[str] = mapped_column(String(80))
    salt: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
