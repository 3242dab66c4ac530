"""Open Badges credentials: one row per issued credential (its id is its status list index).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("user_badge_id", sa.Integer(), nullable=True),
        sa.Column("identity_hash", sa.String(length=80), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('certificate', 'badge')", name=op.f("ck_credentials_kind")),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_credentials_certificate_id_certificates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_badge_id"],
            ["user_badges.id"],
            name=op.f("fk_credentials_user_badge_id_user_badges"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("uuid", name=op.f("uq_credentials_uuid")),
    )
    op.create_index(op.f("ix_credentials_certificate_id"), "credentials", ["certificate_id"], unique=False)
    op.create_index(op.f("ix_credentials_user_badge_id"), "credentials", ["user_badge_id"], unique=False)
    for name, column in (
        ("uq_credentials_live_certificate", "certificate_id"),
        ("uq_credentials_live_user_badge", "user_badge_id"),
    ):
        op.create_index(
            name,
            "credentials",
            [column],
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
            sqlite_where=sa.text("revoked_at IS NULL"),
        )


def downgrade():
    op.drop_index("uq_credentials_live_user_badge", table_name="credentials")
    op.drop_index("uq_credentials_live_certificate", table_name="credentials")
    op.drop_index(op.f("ix_credentials_user_badge_id"), table_name="credentials")
    op.drop_index(op.f("ix_credentials_certificate_id"), table_name="credentials")
    op.drop_table("credentials")
