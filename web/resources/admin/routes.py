"""The admin API: course review, users, stats, exported reports and the audit log (admin role only)."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from common.admin import reports, service, stats
from common.catalog import service as catalog
from common.flows import user_standing
from web.auth import auth_required, current_user_id
from web.pagination import PaginationArgs, page_response
from web.resources.admin.schemas import (
    AdminUserPageSchema,
    AdminUserSchema,
    AuditArgs,
    AuditPageSchema,
    PromoteSchema,
    ReasonSchema,
    ReportPageSchema,
    ReportRequestSchema,
    ReportSchema,
    ReviewCoursePageSchema,
    ReviewQueueArgs,
    StatsSchema,
    SuspendSchema,
    UserSearchArgs,
)
from web.resources.catalog.schemas import CourseManageSchema
from web.resources.jobs.schemas import JobAcceptedSchema, accepted

blp = Blueprint("admin", __name__, url_prefix="/api/admin", description="Administration (admin role only)")


# ---- course review -------------------------------------------------------------------------
@blp.route("/courses", methods=["GET"])
@auth_required("admin")
@blp.arguments(ReviewQueueArgs, location="query")
@blp.response(200, ReviewCoursePageSchema)
def review_queue(args):
    """Courses by review status (default: pending), oldest submission first, with content counts."""
    page = service.review_queue(**args)
    items = []
    for course, modules, lessons, quizzes in page.items:
        course.modules_count, course.lessons_count, course.quizzes_count = modules, lessons, quizzes
        items.append(course)
    return page_response(page, items)


@blp.route("/courses/<int:course_id>/approve", methods=["POST"])
@auth_required("admin")
@blp.response(200, CourseManageSchema)
@blp.alt_response(404, description="Unknown course")
@blp.alt_response(409, description="The course is not pending")
def approve_course(course_id):
    """Publish a pending course: it enters the public catalogue at once."""
    return catalog.approve_course(actor_id=current_user_id(), course_id=course_id)


@blp.route("/courses/<int:course_id>/reject", methods=["POST"])
@auth_required("admin")
@blp.arguments(ReasonSchema)
@blp.response(200, CourseManageSchema)
@blp.alt_response(404, description="Unknown course")
@blp.alt_response(409, description="The course is not pending")
def reject_course(data, course_id):
    """Send a pending course back to its instructor with a reason."""
    return catalog.reject_course(actor_id=current_user_id(), course_id=course_id, reason=data["reason"])


@blp.route("/courses/<int:course_id>/unpublish", methods=["POST"])
@auth_required("admin")
@blp.arguments(ReasonSchema)
@blp.response(200, CourseManageSchema)
@blp.alt_response(404, description="Unknown course")
@blp.alt_response(409, description="The course is not approved")
def unpublish_course(data, course_id):
    """Take an approved course out of the catalogue (-> rejected); enrolled students keep access."""
    return catalog.unpublish_course(actor_id=current_user_id(), course_id=course_id, reason=data["reason"])


# ---- users ---------------------------------------------------------------------------------
@blp.route("/users", methods=["GET"])
@auth_required("admin")
@blp.arguments(UserSearchArgs, location="query")
@blp.response(200, AdminUserPageSchema)
def search_users(args):
    """Users by case-insensitive email or name substring, role and status, with XP and enrollments."""
    page = service.search_users(**args)
    items = []
    for user, enrollments in page.items:
        user.enrollments = enrollments
        items.append(user)
    return page_response(page, items)


@blp.route("/users/<int:user_id>/suspend", methods=["POST"])
@auth_required("admin")
@blp.arguments(SuspendSchema)
@blp.response(200, AdminUserSchema)
@blp.alt_response(404, description="Unknown user")
@blp.alt_response(409, description="Yourself, or the last active admin")
def suspend_user(data, user_id):
    """Suspend a user: every token they hold stops working at once; their content stays."""
    return user_standing.set_suspended(
        actor_id=current_user_id(), user_id=user_id, suspended=True, reason=data["reason"]
    )


@blp.route("/users/<int:user_id>/unsuspend", methods=["POST"])
@auth_required("admin")
@blp.response(200, AdminUserSchema)
@blp.alt_response(404, description="Unknown user")
@blp.alt_response(409, description="Yourself")
def unsuspend_user(user_id):
    """Reinstate a suspended user (they sign in again)."""
    return user_standing.set_suspended(actor_id=current_user_id(), user_id=user_id, suspended=False)


@blp.route("/users/<int:user_id>/promote", methods=["POST"])
@auth_required("admin")
@blp.arguments(PromoteSchema)
@blp.response(200, AdminUserSchema)
@blp.alt_response(404, description="Unknown user")
@blp.alt_response(409, description="Yourself, or demoting the last active admin")
def promote_user(data, user_id):
    """Change a user's role (promote or demote); their tokens are revoked so it applies at once."""
    return user_standing.change_role(actor_id=current_user_id(), user_id=user_id, role=data["role"])


# ---- stats ---------------------------------------------------------------------------------
@blp.route("/stats", methods=["GET"])
@auth_required("admin")
@blp.response(200, StatsSchema)
def platform_stats():
    """Users, courses, enrollments, earnings, top courses and 30 days of daily figures (cached briefly)."""
    return stats.platform_stats()


# ---- reports -------------------------------------------------------------------------------
@blp.route("/reports", methods=["POST"])
@auth_required("admin")
@blp.arguments(ReportRequestSchema)
@blp.response(202, JobAcceptedSchema)
def request_report(data):
    """Export enrollments, payments, users or courses as CSV or XLSX (a job; poll it, then download)."""
    return accepted(
        reports.request_report(
            actor_id=current_user_id(),
            report_type=data["type"],
            fmt=data["format"],
            from_=data["from_"],
            to=data["to"],
        )
    )


@blp.route("/reports", methods=["GET"])
@auth_required("admin")
@blp.arguments(PaginationArgs, location="query")
@blp.response(200, ReportPageSchema)
def list_reports(args):
    """Past and running reports of every admin, newest first."""
    return page_response(reports.list_reports(**args))


@blp.route("/reports/<string:job_id>", methods=["GET"])
@auth_required("admin")
@blp.response(200, ReportSchema)
@blp.alt_response(404, description="Unknown report")
def get_report(job_id):
    """One report's status, progress and download URL."""
    return reports.get_report(job_id)


@blp.route("/reports/<string:job_id>/download", methods=["GET"])
@auth_required("admin")
@blp.response(200, description="The CSV or XLSX file as an attachment")
@blp.alt_response(404, description="Unknown report")
@blp.alt_response(409, description="Not ready yet, failed or expired")
def download_report(job_id):
    """The report's file once it has succeeded."""
    job, fh = reports.open_download(job_id)

    def chunks():
        try:
            while chunk := fh.read(64 * 1024):
                yield chunk
        finally:
            fh.close()

    return Response(
        chunks(),
        mimetype=reports.FORMATS[job.params["format"]].split(";")[0],
        headers={"Content-Disposition": f'attachment; filename="{reports.filename(job)}"'},
    )


# ---- audit log -----------------------------------------------------------------------------
@blp.route("/audit-log", methods=["GET"])
@auth_required("admin")
@blp.arguments(AuditArgs, location="query")
@blp.response(200, AuditPageSchema)
def audit_log(args):
    """Who did what to which object, newest first; filter by actor, action, object and time."""
    return page_response(service.audit_log(**args))
