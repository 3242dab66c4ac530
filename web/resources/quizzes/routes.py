"""MCQ quizzes per module: authoring by the course owner, attempts and results for enrolled students."""

from __future__ import annotations

from flask_smorest import Blueprint

from common.flows import completion
from common.quizzes import service
from web.auth import auth_required, current_role, current_user_id
from web.pagination import PaginationArgs, page_response
from web.resources.quizzes.schemas import (
    AttemptResultSchema,
    AttemptSchema,
    QuizCreateSchema,
    QuizPageSchema,
    QuizResultArgs,
    QuizResultPageSchema,
    QuizSchema,
    QuizUpdateSchema,
)

blp = Blueprint("quizzes", __name__, url_prefix="/api", description="MCQ quizzes, attempts and results")

_PUBLIC_FIELDS = (
    "id",
    "module_id",
    "course_id",
    "question",
    "options",
    "max_attempts",
    "position",
    "created_at",
    "updated_at",
)


def _list_item(quiz, reveal: bool, status) -> dict:
    item = {name: getattr(quiz, name) for name in _PUBLIC_FIELDS}
    if reveal:
        item["correct_option"] = quiz.correct_option
    else:
        # Students see their own standing instead of the answer.
        item.update(
            attempts_used=status.attempts_used, attempts_left=status.attempts_left, passed=status.passed
        )
    return item


@blp.route("/modules/<int:module_id>/quizzes", methods=["GET"])
@auth_required()
@blp.arguments(PaginationArgs, location="query")
@blp.response(200, QuizPageSchema)
@blp.alt_response(403, description="Not enrolled in the course")
@blp.alt_response(404, description="Unknown module, or a course you may not see")
def list_quizzes(args, module_id):
    """A module's quizzes in order (the owner and admins also see correct_option)."""
    page, reveal, statuses = service.list_quizzes(
        module_id=module_id, user_id=current_user_id(), role=current_role(), **args
    )
    return page_response(page, [_list_item(q, reveal, statuses.get(q.id)) for q in page.items])


@blp.route("/modules/<int:module_id>/quizzes", methods=["POST"])
@auth_required("instructor")
@blp.arguments(QuizCreateSchema)
@blp.response(201, QuizSchema)
@blp.alt_response(404, description="Unknown module, or a course you may not see")
def create_quiz(data, module_id):
    """Add an MCQ quiz to a module of your course."""
    return service.create_quiz(module_id=module_id, user_id=current_user_id(), role=current_role(), **data)


@blp.route("/quizzes/<int:quiz_id>", methods=["PATCH"])
@auth_required("instructor")
@blp.arguments(QuizUpdateSchema)
@blp.response(200, QuizSchema)
@blp.alt_response(404, description="Unknown quiz, or a course you may not see")
def update_quiz(data, quiz_id):
    """Change a quiz of your course (results already recorded keep their own answer)."""
    return service.update_quiz(quiz_id=quiz_id, user_id=current_user_id(), role=current_role(), **data)


@blp.route("/quizzes/<int:quiz_id>", methods=["DELETE"])
@auth_required("instructor")
@blp.response(204)
@blp.alt_response(404, description="Unknown quiz, or a course you may not see")
def delete_quiz(quiz_id):
    """Delete a quiz of your course, with its attempts."""
    service.delete_quiz(quiz_id=quiz_id, user_id=current_user_id(), role=current_role())


@blp.route("/quizzes/<int:quiz_id>/attempts", methods=["POST"])
@auth_required()
@blp.arguments(AttemptSchema)
@blp.response(201, AttemptResultSchema)
@blp.alt_response(403, description="Not an enrolled student of the course")
@blp.alt_response(404, description="Unknown quiz, or a course you may not see")
@blp.alt_response(409, description="All attempts at this quiz are used up")
def submit_attempt(data, quiz_id):
    """Answer a quiz: whether you were right; the correct option once right or out of attempts."""
    outcome = completion.submit_attempt(
        quiz_id=quiz_id, user_id=current_user_id(), role=current_role(), **data
    )
    return {
        **outcome.result,
        "attempts_used": outcome.attempts_used,
        "attempts_left": outcome.attempts_left,
        "max_attempts": outcome.max_attempts,
        "passed": outcome.passed,
        "xp_awarded": outcome.xp_awarded,
        "course_completed": outcome.course_completed,
    }


@blp.route("/me/quiz-results", methods=["GET"])
@auth_required("student")
@blp.arguments(QuizResultArgs, location="query")
@blp.response(200, QuizResultPageSchema)
def my_quiz_results(args):
    """Your quiz attempts, newest first; filter by course_id, module_id or quiz_id."""
    return page_response(service.list_results(user_id=current_user_id(), **args))
