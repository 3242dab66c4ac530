"""Query arguments and response schemas for XP, badges and leaderboards."""

import marshmallow as ma

from web.fields import Timestamp


class LeaderboardArgs(ma.Schema):
    period = ma.fields.String(
        load_default="weekly",
        validate=ma.validate.OneOf(["weekly", "monthly"]),
        metadata={"description": "ISO week (from Monday 00:00 UTC) or calendar month (UTC)"},
    )
    domain = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=64),
        metadata={"description": "a course domain; empty for the overall board"},
    )
    limit = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=100))
    previous = ma.fields.Boolean(
        load_default=False, metadata={"description": "the period that just ended instead of the current one"}
    )


class BoardUserSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class BoardItemSchema(ma.Schema):
    rank = ma.fields.Integer(metadata={"description": "standard competition ranking: ties share a rank"})
    user = ma.fields.Nested(BoardUserSchema)
    points = ma.fields.Integer()


class BoardMeSchema(ma.Schema):
    rank = ma.fields.Integer(allow_none=True, metadata={"description": "null when the caller is not ranked"})
    points = ma.fields.Integer()


class LeaderboardSchema(ma.Schema):
    period = ma.fields.String()
    period_start = Timestamp()
    period_end = Timestamp(metadata={"description": "exclusive"})
    domain = ma.fields.String()
    source = ma.fields.String(metadata={"description": "redis (real time) or database (fallback)"})
    items = ma.fields.List(ma.fields.Nested(BoardItemSchema))
    me = ma.fields.Nested(
        BoardMeSchema,
        allow_none=True,
        metadata={"description": "the caller's rank and points; null without a token"},
    )


class BadgeSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    criterion = ma.fields.String(
        metadata={
            "description": "what is counted: lesson_complete, quiz_pass, forum_post, "
            "course_complete, streak_days, xp_total, reply_upvotes"
        }
    )
    threshold = ma.fields.Integer()


class BadgeCatalogueSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BadgeSchema))
    total = ma.fields.Integer()


class EarnedBadgeSchema(BadgeSchema):
    awarded_at = Timestamp()


class BadgeProgressSchema(BadgeSchema):
    current = ma.fields.Integer()


class MyBadgesSchema(ma.Schema):
    earned = ma.fields.List(ma.fields.Nested(EarnedBadgeSchema))
    progress = ma.fields.List(ma.fields.Nested(BadgeProgressSchema))


class TypeTotalSchema(ma.Schema):
    points = ma.fields.Integer()
    count = ma.fields.Integer()


class XpSourceSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "lesson, quiz or post"})
    id = ma.fields.Integer()
    title = ma.fields.String(allow_none=True, metadata={"description": "null once the source is deleted"})
    course_id = ma.fields.Integer(allow_none=True)


class XpEventSchema(ma.Schema):
    id = ma.fields.Integer()
    type = ma.fields.String()
    points = ma.fields.Integer()
    timestamp = Timestamp()
    source = ma.fields.Nested(XpSourceSchema)


class MyXpSchema(ma.Schema):
    total = ma.fields.Integer()
    by_type = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(TypeTotalSchema))
    this_week = ma.fields.Integer()
    this_month = ma.fields.Integer()
    streak_days = ma.fields.Integer(metadata={"description": "consecutive UTC days with XP, up to today"})
    recent = ma.fields.List(ma.fields.Nested(XpEventSchema))
