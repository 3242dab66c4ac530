"""Indexes for the foreign keys that deletes cascade through or queries filter on, and the refund sweep.

Built CONCURRENTLY on PostgreSQL (outside the migration's transaction), so upgrading a live
database never blocks writes to lesson_progress or xp_events while their millions of rows are read.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (index, table, columns): one per foreign key that had no index leading with it.
FOREIGN_KEY_INDEXES = [
    ("ix_certificates_course_id", "certificates", ["course_id"]),
    ("ix_xp_events_course_id", "xp_events", ["course_id"]),
    ("ix_lesson_progress_course_id", "lesson_progress", ["course_id"]),
    ("ix_quiz_results_course_id", "quiz_results", ["course_id"]),
    ("ix_quiz_results_module_id", "quiz_results", ["module_id"]),
    ("ix_enrollments_payment_id", "enrollments", ["payment_id"]),
    ("ix_payments_duplicate_of_id", "payments", ["duplicate_of_id"]),
    ("ix_user_badges_badge_id", "user_badges", ["badge_id"]),
]
# payments.reconcile: `status = 'paid' AND refund_requested_at < :cutoff ORDER BY refund_requested_at`.
REFUND_PENDING = "status = 'paid' AND refund_requested_at IS NOT NULL"


def _indexes():
    yield from ((name, table, columns, {}) for name, table, columns in FOREIGN_KEY_INDEXES)
    where = sa.text(REFUND_PENDING)
    yield (
        "ix_payments_refund_pending",
        "payments",
        ["refund_requested_at"],
        {
            "postgresql_where": where,
            "sqlite_where": where,
        },
    )


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table, columns, where in _indexes():
                op.create_index(name, table, columns, postgresql_concurrently=True, **where)
    else:
        for name, table, columns, where in _indexes():
            op.create_index(name, table, columns, **where)


def downgrade():
    for name, table, _columns, _where in _indexes():
        op.drop_index(name, table_name=table)
