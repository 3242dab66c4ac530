"""Request and response schemas for courses, modules and lessons."""

import marshmallow as ma

from common.catalog.models import COURSE_STATUSES
from common.catalog.service import SORTS
from web.fields import HttpUrl, Text, Timestamp
from web.pagination import PaginationArgs, page_schema

SLUG = ma.validate.And(
    ma.validate.Length(min=1, max=64),
    ma.validate.Regexp(
        r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="Use lower-case letters, digits and single hyphens (a slug)."
    ),
)
CURRENCY = ma.validate.Regexp(r"^[A-Z]{3}$", error="Must be a 3-letter upper-case ISO 4217 code.")
# Paise: up to 1 crore rupees, well inside a 32-bit column.
PRICE = ma.validate.Range(min=0, max=1_000_000_000)
POSITION = ma.validate.Range(min=0, max=100_000)
DURATION = ma.validate.Range(min=0, max=1_000_000)
URL_FIELDS = ("video_url", "materials_url", "subtitle_url")


def _not_empty(data):
    if not data:
        raise ma.ValidationError("Give at least one field to change.", "_schema")


# ---- courses -------------------------------------------------------------------------------


def _review_reason(course):
    """`review_reason` mirrors `rejection_reason` (for ORM objects and already-dumped dicts)."""
    return course.get("rejection_reason") if isinstance(course, dict) else course.rejection_reason


class InstructorSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class CourseSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    domain = ma.fields.String()
    instructor = ma.fields.Nested(InstructorSchema)
    price = ma.fields.Integer(metadata={"description": "In the currency's smallest unit (paise for INR)"})
    currency = ma.fields.String()
    status = ma.fields.String()
    enrollment_count = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class CourseManageSchema(CourseSchema):
    """The course as its instructor and admins see it: review details included."""

    rejection_reason = ma.fields.String(allow_none=True)
    review_reason = ma.fields.Function(
        _review_reason,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "Why an admin rejected or unpublished it (same as rejection_reason)",
        },
    )
    submitted_at = Timestamp(allow_none=True)
    approved_at = Timestamp(allow_none=True)


class InstructorCourseSchema(CourseManageSchema):
    enrollments = ma.fields.Integer(metadata={"description": "Active enrollments"})
    revenue = ma.fields.Integer(metadata={"description": "Sum of paid payments, smallest currency unit"})


class CourseCreateSchema(ma.Schema):
    title = Text(required=True, max_length=200)
    description = Text(max_length=20_000, blank=True, load_default="")
    domain = ma.fields.String(required=True, validate=SLUG)
    price = ma.fields.Integer(strict=True, load_default=0, validate=PRICE)
    currency = ma.fields.String(
        load_default="INR",
        validate=CURRENCY,
        metadata={"description": "One of the SUPPORTED_CURRENCIES setting (default INR)"},
    )


class CourseUpdateSchema(ma.Schema):
    title = Text(max_length=200)
    description = Text(max_length=20_000, blank=True)
    domain = ma.fields.String(validate=SLUG)
    price = ma.fields.Integer(strict=True, validate=PRICE)
    currency = ma.fields.String(
        validate=CURRENCY, metadata={"description": "One of the SUPPORTED_CURRENCIES setting (default INR)"}
    )

    @ma.validates_schema
    def _some(self, data, **_kwargs):
        _not_empty(data)


class CatalogueArgs(PaginationArgs):
    domain = ma.fields.String(validate=SLUG)
    q = ma.fields.String(validate=ma.validate.Length(max=200))
    instructor_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    min_price = ma.fields.Integer(validate=PRICE)
    max_price = ma.fields.Integer(validate=PRICE)
    sort = ma.fields.String(load_default="newest", validate=ma.validate.OneOf(SORTS))

    @ma.validates_schema
    def _price_range(self, data, **_kwargs):
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError("Must not be greater than max_price.", "min_price")


class InstructorCoursesArgs(PaginationArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(COURSE_STATUSES))


class DomainSchema(ma.Schema):
    domain = ma.fields.String()
    count = ma.fields.Integer()


class DomainListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DomainSchema))
    total = ma.fields.Integer()


CoursePageSchema = page_schema(CourseSchema)
InstructorCoursePageSchema = page_schema(InstructorCourseSchema)


# ---- modules and lessons -------------------------------------------------------------------


class ModuleSchema(ma.Schema):
    id = ma.fields.Integer()
    course_id = ma.fields.Integer()
    title = ma.fields.String()
    position = ma.fields.Integer()


class ModuleListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ModuleSchema))
    total = ma.fields.Integer()


class ModuleCreateSchema(ma.Schema):
    title = Text(required=True, max_length=200)
    position = ma.fields.Integer(
        strict=True, validate=POSITION, metadata={"description": "0-based; default or past the end: last"}
    )


class ModuleUpdateSchema(ma.Schema):
    title = Text(max_length=200)
    position = ma.fields.Integer(strict=True, validate=POSITION)

    @ma.validates_schema
    def _some(self, data, **_kwargs):
        _not_empty(data)


class LessonSchema(ma.Schema):
    id = ma.fields.Integer()
    module_id = ma.fields.Integer()
    course_id = ma.fields.Integer()
    title = ma.fields.String()
    position = ma.fields.Integer()
    duration_seconds = ma.fields.Integer(allow_none=True)
    # Absent for callers without access to the content (see content_access): optional in the contract.
    video_url = ma.fields.String(
        metadata={"description": "Enrolled students, the owner and admins only", "x-optional": True}
    )
    materials_url = ma.fields.String(allow_none=True, metadata={"x-optional": True})
    subtitle_url = ma.fields.String(allow_none=True, metadata={"x-optional": True})


class LessonListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(LessonSchema))
    total = ma.fields.Integer()
    content_access = ma.fields.Boolean(metadata={"description": "Whether lesson URLs are included"})


class LessonCreateSchema(ma.Schema):
    title = Text(required=True, max_length=200)
    video_url = HttpUrl(required=True)
    materials_url = HttpUrl(allow_none=True)
    subtitle_url = HttpUrl(allow_none=True)
    duration_seconds = ma.fields.Integer(strict=True, allow_none=True, validate=DURATION)
    position = ma.fields.Integer(strict=True, validate=POSITION)


class LessonUpdateSchema(ma.Schema):
    title = Text(max_length=200)
    video_url = HttpUrl()
    materials_url = HttpUrl(allow_none=True)
    subtitle_url = HttpUrl(allow_none=True)
    duration_seconds = ma.fields.Integer(strict=True, allow_none=True, validate=DURATION)
    position = ma.fields.Integer(strict=True, validate=POSITION)

    @ma.validates_schema
    def _some(self, data, **_kwargs):
        _not_empty(data)


class OutlineModuleSchema(ModuleSchema):
    lessons = ma.fields.List(ma.fields.Nested(LessonSchema))


class CourseOutlineSchema(CourseSchema):
    rejection_reason = ma.fields.String(allow_none=True)
    review_reason = ma.fields.Function(_review_reason, allow_none=True, metadata={"type": "string"})
    content_access = ma.fields.Boolean(metadata={"description": "Whether lesson URLs are included"})
    modules = ma.fields.List(ma.fields.Nested(OutlineModuleSchema))


# Dumpers for the two outline variants: the public one never carries lesson URLs.
full_outline = CourseOutlineSchema()
public_outline = CourseOutlineSchema(exclude=tuple(f"modules.lessons.{name}" for name in URL_FIELDS))
public_lessons = LessonSchema(many=True, exclude=URL_FIELDS)
full_lessons = LessonSchema(many=True)
