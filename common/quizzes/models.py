"""MCQ quizzes per module and every attempt at them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from common.db import UpdatedAtMixin, created_at_column, db


class Quiz(UpdatedAtMixin, db.Model):
    __tablename__ = "quizzes"
    __table_args__ = (
        CheckConstraint("correct_option >= 0", name="correct_option_non_negative"),
        # json_array_length exists with the same meaning on PostgreSQL (json) and SQLite.
        CheckConstraint("correct_option < json_array_length(options)", name="correct_option_in_options"),
        CheckConstraint("max_attempts IS NULL OR max_attempts >= 1", name="max_attempts_positive"),
        Index("ix_quizzes_module_position", "module_id", "position"),
        Index("ix_quizzes_course_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON)
    correct_option: Mapped[int]
    max_attempts: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()


class QuizResult(db.Model):
    __tablename__ = "quiz_results"
    __table_args__ = (
        CheckConstraint("selected_option >= 0", name="selected_option_non_negative"),
        Index("ix_quiz_results_user_quiz", "user_id", "quiz_id"),
        Index("ix_quiz_results_user_course", "user_id", "course_id", "is_correct"),
        Index("ix_quiz_results_quiz_id", "quiz_id"),
        Index("ix_quiz_results_course_id", "course_id"),
        Index("ix_quiz_results_module_id", "module_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    selected_option: Mapped[int]
    # Snapshot at answer time, so later edits to the quiz leave recorded results intact.
    is_correct: Mapped[bool]
    correct_option: Mapped[int]
    timestamp: Mapped[datetime] = created_at_column()
