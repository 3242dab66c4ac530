"""Admin backend: trigram search on users, `expired` report jobs, indexes for stats and the audit log.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_JOB_STATUSES = "status IN ('queued', 'running', 'succeeded', 'failed')"
NEW_JOB_STATUSES = "status IN ('queued', 'running', 'succeeded', 'failed', 'expired')"


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_status"), type_="check")
        batch_op.create_check_constraint("status", NEW_JOB_STATUSES)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.alter_column(
            "rejection_reason",
            existing_type=sa.String(length=1000),
            type_=sa.String(length=2000),
            existing_nullable=True,
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_status_paid", ["status", "paid_at"], unique=False)
        batch_op.create_index("ix_payments_refunded_at", ["refunded_at"], unique=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("before", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("after", sa.JSON(), nullable=True))
        batch_op.create_index("ix_audit_log_action_created", ["action", "created_at"], unique=False)
    if _is_postgres():
        # Case-insensitive substring search of users by email or name (admin user list).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_users_email_trgm ON users USING gin (lower(email) gin_trgm_ops)")
        op.execute("CREATE INDEX ix_users_name_trgm ON users USING gin (lower(name) gin_trgm_ops)")


def downgrade():
    if _is_postgres():
        op.execute("DROP INDEX IF EXISTS ix_users_name_trgm")
        op.execute("DROP INDEX IF EXISTS ix_users_email_trgm")
        # The extension stays: other objects may use it, and it is harmless.
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_action_created")
        batch_op.drop_column("after")
        batch_op.drop_column("before")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_refunded_at")
        batch_op.drop_index("ix_payments_status_paid")
    op.execute(
        "UPDATE courses SET rejection_reason = substr(rejection_reason, 1, 1000) "
        "WHERE length(rejection_reason) > 1000"
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.alter_column(
            "rejection_reason",
            existing_type=sa.String(length=2000),
            type_=sa.String(length=1000),
            existing_nullable=True,
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_created_at")
    op.execute("UPDATE jobs SET status = 'failed' WHERE status = 'expired'")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_status"), type_="check")
        batch_op.create_check_constraint("status", OLD_JOB_STATUSES)
