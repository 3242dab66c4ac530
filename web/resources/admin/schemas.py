"""Request and response schemas of the admin API."""

import marshmallow as ma

from common.accounts.models import ROLES, USER_STATUSES
from common.admin.reports import FORMATS, REPORTS
from common.admin.service import USER_SORTS
from common.catalog.models import COURSE_STATUSES
from web.fields import Text, Timestamp, json_object
from web.pagination import PaginationArgs, page_schema
from web.resources.catalog.schemas import CourseManageSchema
from web.resources.jobs.schemas import JobSchema


# ---- courses -------------------------------------------------------------------------------
class ReviewQueueArgs(PaginationArgs):
    status = ma.fields.String(load_default="pending", validate=ma.validate.OneOf(COURSE_STATUSES))


class InstructorBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    email = ma.fields.String()


class ReviewCourseSchema(CourseManageSchema):
    instructor = ma.fields.Nested(InstructorBriefSchema)
    modules_count = ma.fields.Integer(data_key="modules", metadata={"description": "Number of modules"})
    lessons_count = ma.fields.Integer(data_key="lessons", metadata={"description": "Number of lessons"})
    quizzes_count = ma.fields.Integer(data_key="quizzes", metadata={"description": "Number of quizzes"})


ReviewCoursePageSchema = page_schema(ReviewCourseSchema)


class ReasonSchema(ma.Schema):
    reason = Text(required=True, max_length=2000)


# ---- users ---------------------------------------------------------------------------------
class UserSearchArgs(PaginationArgs):
    q = ma.fields.String(validate=ma.validate.Length(max=254))
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    status = ma.fields.String(validate=ma.validate.OneOf(USER_STATUSES))
    sort = ma.fields.String(load_default="newest", validate=ma.validate.OneOf(USER_SORTS))


class AdminUserSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    status = ma.fields.String()
    suspended_reason = ma.fields.String(allow_none=True)
    xp = ma.fields.Integer(attribute="xp_total")
    enrollments = ma.fields.Integer(metadata={"description": "Active enrollments"})
    last_login_at = Timestamp(allow_none=True)
    created_at = Timestamp()


AdminUserPageSchema = page_schema(AdminUserSchema)


class SuspendSchema(ma.Schema):
    reason = Text(required=True, max_length=500)


class PromoteSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))


# ---- reports -------------------------------------------------------------------------------
class ReportRequestSchema(ma.Schema):
    # `from` is a Python keyword: it loads as `from_`.
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(list(REPORTS)))
    format = ma.fields.String(required=True, validate=ma.validate.OneOf(list(FORMATS)))
    from_ = Timestamp(data_key="from", load_default=None)
    to = Timestamp(load_default=None)

    @ma.validates_schema
    def _range(self, data, **_kwargs):
        if data.get("from_") and data.get("to") and data["from_"] >= data["to"]:
            raise ma.ValidationError("Must be before `to`.", "from")


class ReportSchema(JobSchema):
    params = json_object(metadata={"description": "{type, format, from, to} as requested"})
    owner_id = ma.fields.Integer(allow_none=True)


ReportPageSchema = page_schema(ReportSchema)


# ---- audit log -----------------------------------------------------------------------------
class AuditArgs(PaginationArgs):
    actor_id = ma.fields.Integer()
    action = ma.fields.String(validate=ma.validate.Length(max=64))
    object_type = ma.fields.String(validate=ma.validate.Length(max=32))
    object_id = ma.fields.String(validate=ma.validate.Length(max=64))
    from_ = Timestamp(data_key="from")
    to = Timestamp()


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    actor_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.String()
    detail = json_object(allow_none=True)
    before = json_object(allow_none=True)
    after = json_object(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    created_at = Timestamp()


AuditPageSchema = page_schema(AuditEntrySchema, "AuditLogPageSchema")


# ---- stats ---------------------------------------------------------------------------------
class UserCountsSchema(ma.Schema):
    students = ma.fields.Integer()
    instructors = ma.fields.Integer()
    admins = ma.fields.Integer()
    suspended = ma.fields.Integer()
    total = ma.fields.Integer()


class EnrollmentCountsSchema(ma.Schema):
    active = ma.fields.Integer()
    completed = ma.fields.Integer()
    revoked = ma.fields.Integer()


class EarningsSchema(ma.Schema):
    currency = ma.fields.String()
    paid = ma.fields.Integer()
    refunded = ma.fields.Integer()
    net = ma.fields.Integer(metadata={"description": "paid minus refunded, in the smallest currency unit"})


class TopByEnrollmentsSchema(ma.Schema):
    course_id = ma.fields.Integer()
    title = ma.fields.String()
    active_enrollments = ma.fields.Integer()


class TopByRevenueSchema(ma.Schema):
    course_id = ma.fields.Integer()
    title = ma.fields.String()
    currency = ma.fields.String()
    net_revenue = ma.fields.Integer()


class DailySchema(ma.Schema):
    date = ma.fields.String(metadata={"format": "date"})
    signups = ma.fields.Integer()
    enrollments = ma.fields.Integer()
    revenue = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(), metadata={"description": "net, by currency"}
    )


class StatsSchema(ma.Schema):
    generated_at = ma.fields.String(metadata={"format": "date-time"})
    users = ma.fields.Nested(UserCountsSchema)
    courses = ma.fields.Dict(
        keys=ma.fields.String(metadata={"enum": list(COURSE_STATUSES)}),
        values=ma.fields.Integer(),
        metadata={"description": "course counts by status"},
    )
    enrollments = ma.fields.Nested(EnrollmentCountsSchema)
    earnings = ma.fields.List(ma.fields.Nested(EarningsSchema))
    top_courses_by_enrollments = ma.fields.List(ma.fields.Nested(TopByEnrollmentsSchema))
    top_courses_by_revenue = ma.fields.List(ma.fields.Nested(TopByRevenueSchema))
    daily = ma.fields.List(ma.fields.Nested(DailySchema))
