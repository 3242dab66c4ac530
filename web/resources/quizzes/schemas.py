"""Request and response schemas for quizzes, attempts and results."""

import marshmallow as ma

from common.quizzes.service import (
    MAX_OPTIONS,
    MIN_OPTIONS,
    OPTION_MAX_LENGTH,
    QUESTION_MAX_LENGTH,
)
from web.fields import Text, Timestamp
from web.pagination import PaginationArgs, page_schema

# strict: booleans, floats and numeric strings are refused, not coerced.
_INDEX = dict(strict=True, validate=ma.validate.Range(min=0))


def _options(**kwargs):
    return ma.fields.List(
        Text(max_length=OPTION_MAX_LENGTH),
        validate=ma.validate.Length(min=MIN_OPTIONS, max=MAX_OPTIONS),
        **kwargs,
    )


def _max_attempts(**kwargs):
    return ma.fields.Integer(
        strict=True,
        allow_none=True,
        validate=ma.validate.Range(min=1, max=1000),
        metadata={"description": "null = unlimited"},
        **kwargs,
    )


def _position(**kwargs):
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=100_000), **kwargs)


def _check_answer(data):
    options, correct = data.get("options"), data.get("correct_option")
    if options is not None and correct is not None and correct >= len(options):
        raise ma.ValidationError(
            f"Must be a 0-based index into options (0–{len(options) - 1}).", "correct_option"
        )


class QuizCreateSchema(ma.Schema):
    question = Text(required=True, max_length=QUESTION_MAX_LENGTH)
    options = _options(required=True)
    correct_option = ma.fields.Integer(required=True, **_INDEX)
    max_attempts = _max_attempts(load_default=None)
    position = _position(metadata={"description": "defaults to after the module's last quiz"})

    @ma.validates_schema
    def _answer_in_options(self, data, **_kwargs):
        _check_answer(data)


class QuizUpdateSchema(ma.Schema):
    question = Text(max_length=QUESTION_MAX_LENGTH)
    options = _options()
    correct_option = ma.fields.Integer(**_INDEX)
    max_attempts = _max_attempts()
    position = _position()

    @ma.validates_schema
    def _answer_in_options(self, data, **_kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.", "_schema")
        _check_answer(data)


class QuizSchema(ma.Schema):
    """A quiz as its owner and admins see it (with the answer)."""

    id = ma.fields.Integer()
    module_id = ma.fields.Integer()
    course_id = ma.fields.Integer()
    question = ma.fields.String()
    options = ma.fields.List(ma.fields.String())
    correct_option = ma.fields.Integer()
    max_attempts = ma.fields.Integer(allow_none=True)
    position = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class QuizListItemSchema(QuizSchema):
    """One schema for both audiences: keys a caller may not see are left out of its items."""

    correct_option = ma.fields.Integer(metadata={"description": "owner and admins only"})
    attempts_used = ma.fields.Integer(metadata={"description": "students only: own attempts"})
    attempts_left = ma.fields.Integer(
        allow_none=True, metadata={"description": "students only; null = unlimited"}
    )
    passed = ma.fields.Boolean(metadata={"description": "students only: answered correctly at least once"})


QuizPageSchema = page_schema(QuizListItemSchema, name="QuizPageSchema")


class AttemptSchema(ma.Schema):
    selected_option = ma.fields.Integer(required=True, **_INDEX)


class QuizResultSchema(ma.Schema):
    id = ma.fields.Integer()
    quiz_id = ma.fields.Integer()
    module_id = ma.fields.Integer()
    course_id = ma.fields.Integer()
    selected_option = ma.fields.Integer()
    is_correct = ma.fields.Boolean()
    correct_option = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "the answer at the time of this attempt; null until the quiz is answered "
            "correctly once or no attempts are left"
        },
    )
    timestamp = Timestamp()


class AttemptResultSchema(QuizResultSchema):
    attempts_used = ma.fields.Integer()
    attempts_left = ma.fields.Integer(allow_none=True, metadata={"description": "null = unlimited"})
    max_attempts = ma.fields.Integer(allow_none=True)
    passed = ma.fields.Boolean(metadata={"description": "answered correctly at least once"})
    xp_awarded = ma.fields.Integer(metadata={"description": "quiz_pass XP earned by this attempt (0 if not)"})
    course_completed = ma.fields.Boolean(metadata={"description": "this attempt completed the course"})


QuizResultPageSchema = page_schema(QuizResultSchema)


class QuizResultArgs(PaginationArgs):
    course_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    module_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    quiz_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
