"""Badge catalogue of issue 10: store the ten badges, retire the six placeholder ones.

Revision ID: 0003
Revises: 0002

Data only (no schema change). A frozen copy of common/gamification/badges.py:BADGES as of this
revision; later catalogue lines are stored by ensure_badges (run by every leaderboard rebuild and
by `flask seed`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BADGES = [
    ("first-lesson", "First lesson", "Complete your first lesson.", "lesson_complete", 1),
    ("first-quiz", "First quiz passed", "Answer a quiz correctly for the first time.", "quiz_pass", 1),
    (
        "first-course",
        "First course completed",
        "Complete every lesson and quiz of a course.",
        "course_complete",
        1,
    ),
    ("five-courses", "Five courses completed", "Complete five courses.", "course_complete", 5),
    ("week-streak", "7-day streak", "Earn XP on 7 consecutive days (UTC).", "streak_days", 7),
    ("xp-100", "100 XP", "Earn 100 XP.", "xp_total", 100),
    ("xp-1000", "1,000 XP", "Earn 1,000 XP.", "xp_total", 1000),
    ("xp-5000", "5,000 XP", "Earn 5,000 XP.", "xp_total", 5000),
    ("first-post", "First forum post", "Write your first forum post.", "forum_post", 1),
    ("helpful-answer", "Helpful answer", "Write a forum answer that gets 10 upvotes.", "reply_upvotes", 10),
]
RETIRED = ("first-steps", "steady-learner", "quiz-whiz", "helpful-voice", "xp-500", "xp-2000")

badges = sa.table(
    "badges",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
    sa.column("criterion", sa.String),
    sa.column("threshold", sa.Integer),
)


def upgrade():
    op.execute(badges.delete().where(badges.c.code.in_(RETIRED + tuple(b[0] for b in BADGES))))
    op.bulk_insert(
        badges,
        [
            dict(zip(("code", "name", "description", "criterion", "threshold"), b, strict=True))
            for b in BADGES
        ],
    )


def downgrade():
    op.execute(badges.delete().where(badges.c.code.in_([b[0] for b in BADGES])))
