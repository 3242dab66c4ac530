"""Learning: free enrollment, the caller's enrollments and progress, lesson completion."""
from __future__ import annotations

from flask_smorest import Blueprint

from common.learning import service
from web.auth import auth_required, current_role, current_user_id
from web.pagination import PaginationArgs, page_response
from web.resources.learning.schemas import (
    CourseProgressSchema, EnrollmentPageSchema, EnrollmentSchema, LessonCompletionSchema,
)

blp = Blueprint("learning", __name__, url_prefix="/api", description="Enrollment and progress")


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
    items = []
    for enrollment, completed, total in page.items:
        items.append({
            "id": enrollment.id, "course_id": enrollment.course_id, "course": enrollment.course,
            "status": enrollment.status, "source": enrollment.source, "enrolled_at": enrollment.enrolled_at,
            "completed_at": enrollment.completed_at,
            "progress": {"completed_lessons": completed, "total_lessons": total,
                         "percent": service.percent(completed, total)},
        })
    return page_response(page, items)


@blp.route("/me/courses/<int:course_id>/progress", methods=["GET"])
@auth_required("student")
@blp.response(200, CourseProgressSchema)
@blp.alt_response(403, description="Not enrolled")
@blp.alt_response(404, description="Unknown or unpublished course")
def course_progress(course_id):
    """Your progress in a course: lessons done, quiz status per module, the lesson to resume."""
    return service.course_progress(user_id=current_user_id(), course_id=course_id, role=current_role())


@blp.route("/lessons/<int:lesson_id>/complete", methods=["POST"])
@auth_required("student")
@blp.response(200, LessonCompletionSchema)
@blp.alt_response(403, description="Not enrolled")
@blp.alt_response(404, description="Unknown lesson, or one of an unpublished course")
def complete_lesson(lesson_id):
    """Mark a lesson complete (idempotent); awards XP once and may complete the course."""
    return service.complete_lesson(user_id=current_user_id(), lesson_id=lesson_id, role=current_role())
