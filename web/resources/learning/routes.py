"""Learning: free enrollment, the caller's enrollments and progress, lesson completion."""

from __future__ import annotations

from flask import jsonify
from flask_smorest import Blueprint

from common.flows import completion
from common.learning import service
from web.auth import auth_required, current_role, current_user_id
from web.fields import timestamp
from web.pagination import PaginationArgs, page_json
from web.resources.learning.schemas import (
    CourseProgressSchema,
    EnrollmentPageSchema,
    EnrollmentSchema,
    LessonCompletionSchema,
)

blp = Blueprint("learning", __name__, url_prefix="/api", description="Enrollment and progress")

# The hot reads below build their JSON from plain rows (the schemas still document them): nested
# marshmallow dumping cost more than the queries. `timestamp` formats as the schemas' Timestamp does.


def _enrollment_item(row) -> dict:
    return {
        "id": row.id,
        "course_id": row.course_id,
        "course": {
            "id": row.course_id,
            "title": row.title,
            "description": row.description,
            "domain": row.domain,
            "instructor": {"id": row.instructor_id, "name": row.instructor_name},
            "price": row.price,
            "currency": row.currency,
            "status": row.course_status,
            "enrollment_count": row.enrollment_count,
            "created_at": timestamp(row.course_created_at),
            "updated_at": timestamp(row.course_updated_at),
        },
        "status": row.status,
        "source": row.source,
        "enrolled_at": timestamp(row.enrolled_at),
        "completed_at": timestamp(row.completed_at),
        "progress": {
            "completed_lessons": row.completed_lessons,
            "total_lessons": row.total_lessons,
            "percent": service.percent(row.completed_lessons, row.total_lessons),
        },
    }


def _progress_body(progress: dict) -> dict:
    for module in progress["modules"]:
        for lesson in module["lessons"]:
            lesson["completed_at"] = timestamp(lesson["completed_at"])
    progress["enrolled_at"] = timestamp(progress["enrolled_at"])
    progress["completed_at"] = timestamp(progress["completed_at"])
    return progress


@blp.route("/courses/<int:course_id>/enroll", methods=["POST"])
@auth_required("student")
@blp.response(201, EnrollmentSchema)
@blp.alt_response(402, description="A paid course: buy it through POST /api/payments/order")
@blp.alt_response(404, description="Unknown or unpublished course")
@blp.alt_response(409, description="Already enrolled")
def enroll(course_id):
    """Enroll in a free course."""
    return service.enroll_free(user_id=current_user_id(), course_id=course_id, role=current_role())


@blp.route("/me/enrollments", methods=["GET"])
@auth_required("student")
@blp.arguments(PaginationArgs, location="query")
@blp.response(200, EnrollmentPageSchema)
def my_enrollments(args):
    """Your active enrollments, newest first, with progress."""
    page = service.my_enrollments(user_id=current_user_id(), **args)
    return page_json(page, [_enrollment_item(row) for row in page.items])


@blp.route("/me/courses/<int:course_id>/progress", methods=["GET"])
@auth_required("student")
@blp.response(200, CourseProgressSchema)
@blp.alt_response(403, description="Not enrolled")
@blp.alt_response(404, description="Unknown or unpublished course")
def course_progress(course_id):
    """Your progress in a course: lessons done, quiz status per module, the lesson to resume."""
    return jsonify(
        _progress_body(
            service.course_progress(user_id=current_user_id(), course_id=course_id, role=current_role())
        )
    )


@blp.route("/lessons/<int:lesson_id>/complete", methods=["POST"])
@auth_required("student")
@blp.response(200, LessonCompletionSchema)
@blp.alt_response(403, description="Not enrolled")
@blp.alt_response(404, description="Unknown lesson, or one of an unpublished course")
def complete_lesson(lesson_id):
    """Mark a lesson complete (idempotent); awards XP once and may complete the course."""
    return completion.complete_lesson(user_id=current_user_id(), lesson_id=lesson_id, role=current_role())
