"""Forum Q&A: votes on replies, accepted answers, edit stamps, flag reasons and notes, search index.

A deleted module now leaves its posts in place as course-wide posts (module_id SET NULL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

POST_SEARCH_EXPR = "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(body, ''))"
FLAG_REASONS = "('spam', 'abuse', 'off_topic', 'other')"


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("votes", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_replies_post_votes", ["post_id", "votes"], unique=False)

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accepted_reply_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_posts_accepted_reply_id_replies"),
            "replies",
            ["accepted_reply_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint(op.f("fk_posts_module_id_modules"), type_="foreignkey")
        batch_op.create_foreign_key(
            op.f("fk_posts_module_id_modules"), "modules", ["module_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_posts_accepted_reply_id", ["accepted_reply_id"], unique=False)
        batch_op.create_index(
            "ix_posts_course_unanswered", ["course_id", "reply_count", "created_at"], unique=False
        )

    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_id", sa.Integer(), nullable=True))
        batch_op.alter_column("post_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            op.f("fk_votes_reply_id_replies"), "replies", ["reply_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_unique_constraint(op.f("uq_votes_reply_id_user_id"), ["reply_id", "user_id"])
        batch_op.create_check_constraint(
            op.f("ck_votes_exactly_one_target"), "(post_id IS NULL) <> (reply_id IS NULL)"
        )

    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=True))
    # Free-text reasons of older rows become `other`, their text kept as the note.
    op.execute(f"UPDATE flags SET note = reason, reason = 'other' WHERE reason NOT IN {FLAG_REASONS}")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.alter_column(
            "reason", existing_type=sa.String(length=500), type_=sa.String(length=16), existing_nullable=False
        )
        batch_op.create_check_constraint(op.f("ck_flags_reason"), f"reason IN {FLAG_REASONS}")
        batch_op.drop_index("ix_flags_post_id")
        batch_op.drop_index("ix_flags_reply_id")
        batch_op.create_index("ix_flags_post_status", ["post_id", "status"], unique=False)
        batch_op.create_index("ix_flags_reply_status", ["reply_id", "status"], unique=False)
        batch_op.create_index("ix_flags_resolved_by_id", ["resolved_by_id"], unique=False)

    if _is_postgres():
        op.create_index(
            "ix_posts_search", "posts", [sa.literal_column(POST_SEARCH_EXPR)], postgresql_using="gin"
        )


def downgrade():
    if _is_postgres():
        op.drop_index("ix_posts_search", table_name="posts")

    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_index("ix_flags_resolved_by_id")
        batch_op.drop_index("ix_flags_reply_status")
        batch_op.drop_index("ix_flags_post_status")
        batch_op.create_index("ix_flags_reply_id", ["reply_id"], unique=False)
        batch_op.create_index("ix_flags_post_id", ["post_id"], unique=False)
        batch_op.drop_constraint(op.f("ck_flags_reason"), type_="check")
        batch_op.alter_column(
            "reason", existing_type=sa.String(length=16), type_=sa.String(length=500), existing_nullable=False
        )
        batch_op.drop_column("note")

    # Votes on replies have no place in the old schema.
    op.execute("DELETE FROM votes WHERE reply_id IS NOT NULL")
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_votes_exactly_one_target"), type_="check")
        batch_op.drop_constraint(op.f("uq_votes_reply_id_user_id"), type_="unique")
        batch_op.drop_constraint(op.f("fk_votes_reply_id_replies"), type_="foreignkey")
        batch_op.alter_column("post_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("reply_id")

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_course_unanswered")
        batch_op.drop_index("ix_posts_accepted_reply_id")
        batch_op.drop_constraint(op.f("fk_posts_accepted_reply_id_replies"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_posts_module_id_modules"), type_="foreignkey")
        batch_op.create_foreign_key(
            op.f("fk_posts_module_id_modules"), "modules", ["module_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.drop_column("edited_at")
        batch_op.drop_column("accepted_reply_id")

    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_index("ix_replies_post_votes")
        batch_op.drop_column("edited_at")
        batch_op.drop_column("votes")
