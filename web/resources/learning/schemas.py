"""Response schemas for enrollments, progress and lesson completion."""

import marshmallow as ma

from web.fields import Timestamp
from web.pagination import page_schema
from web.resources.catalog.schemas import CourseSchema


class ProgressSchema(ma.Schema):
    completed_lessons = ma.fields.Integer()
    total_lessons = ma.fields.Integer()
    percent = ma.fields.Integer(metadata={"description": "0-100, rounded down"})


class EnrollmentSchema(ma.Schema):
    id = ma.fields.Integer()
    course_id = ma.fields.Integer()
    course = ma.fields.Nested(CourseSchema)
    status = ma.fields.String()
    source = ma.fields.String()
    enrolled_at = Timestamp()
    completed_at = Timestamp(allow_none=True)


class EnrollmentWithProgressSchema(EnrollmentSchema):
    progress = ma.fields.Nested(ProgressSchema)


EnrollmentPageSchema = page_schema(EnrollmentWithProgressSchema)


class QuizStatusSchema(ma.Schema):
    total = ma.fields.Integer()
    passed = ma.fields.Integer()


class LessonProgressSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    position = ma.fields.Integer()
    duration_seconds = ma.fields.Integer(allow_none=True)
    completed = ma.fields.Boolean()
    completed_at = Timestamp(allow_none=True)


class ModuleProgressSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    position = ma.fields.Integer()
    completed_lessons = ma.fields.Integer()
    total_lessons = ma.fields.Integer()
    quizzes = ma.fields.Nested(QuizStatusSchema)
    lessons = ma.fields.List(ma.fields.Nested(LessonProgressSchema))


class NextLessonSchema(ma.Schema):
    id = ma.fields.Integer()
    module_id = ma.fields.Integer()
    title = ma.fields.String()
    position = ma.fields.Integer()


class CourseProgressSchema(ma.Schema):
    course_id = ma.fields.Integer()
    title = ma.fields.String()
    enrolled_at = Timestamp()
    completed_at = Timestamp(allow_none=True)
    progress = ma.fields.Nested(ProgressSchema)
    quizzes = ma.fields.Nested(QuizStatusSchema)
    next_lesson = ma.fields.Nested(
        NextLessonSchema,
        allow_none=True,
        metadata={"description": "First unfinished lesson in order; null when all done"},
    )
    modules = ma.fields.List(ma.fields.Nested(ModuleProgressSchema))


class LessonCompletionSchema(ma.Schema):
    lesson_id = ma.fields.Integer()
    course_id = ma.fields.Integer()
    completed = ma.fields.Boolean()
    completed_at = Timestamp()
    already_completed = ma.fields.Boolean(metadata={"description": "True when an earlier call recorded it"})
    xp_awarded = ma.fields.Integer()
    course_completed = ma.fields.Boolean()
    course_newly_completed = ma.fields.Boolean()
