"""Request and response schemas for the forum: posts, replies, votes, accepted answers, flags."""

import marshmallow as ma

from common.errors import ValidationError as DomainValidationError
from common.forum.models import FLAG_REASONS, FLAG_STATUSES
from common.forum.moderation import ACTIONS, NOTE_MAX
from common.forum.service import BODY_MAX, BODY_MIN, SORTS, TITLE_MAX, TITLE_MIN, clean_text
from web.fields import Timestamp
from web.pagination import PaginationArgs, page_schema


class ForumText(ma.fields.String):
    """Trimmed text of min..max characters without control characters (the service's own rule)."""

    def __init__(self, *, min_length: int, max_length: int, **kwargs):
        self.min_length, self.max_length = min_length, max_length
        metadata = {
            "minLength": min_length,
            "maxLength": max_length,
            "description": "trimmed; no control characters except tab and newlines",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return clean_text(attr, value, min_length=self.min_length, max_length=self.max_length)
        except DomainValidationError as exc:
            raise ma.ValidationError(exc.errors["json"][attr]) from exc


def _title(**kwargs):
    return ForumText(min_length=TITLE_MIN, max_length=TITLE_MAX, **kwargs)


def _body(**kwargs):
    return ForumText(
        min_length=BODY_MIN,
        max_length=BODY_MAX,
        metadata={"description": "plain text or Markdown source, stored and returned as written"},
        **kwargs,
    )


_ID = dict(strict=True, validate=ma.validate.Range(min=1))


class PostListArgs(PaginationArgs):
    module_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    sort = ma.fields.String(
        load_default="newest",
        validate=ma.validate.OneOf(SORTS),
        metadata={"description": "newest | top (by votes) | unanswered (no visible reply)"},
    )
    q = ma.fields.String(
        validate=ma.validate.Length(max=200),
        metadata={"description": "full-text search over titles and bodies"},
    )


class PostCreateSchema(ma.Schema):
    title = _title(required=True)
    body = _body(required=True)
    module_id = ma.fields.Integer(
        allow_none=True, load_default=None, **_ID, metadata={"description": "a module of this course"}
    )


class PostUpdateSchema(ma.Schema):
    title = _title()
    body = _body()
    module_id = ma.fields.Integer(allow_none=True, **_ID)

    @ma.validates_schema
    def _something(self, data, **_kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.", "_schema")


class AuthorSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    role = ma.fields.String(metadata={"description": "student | instructor (the course's own) | admin"})


class PostSchema(ma.Schema):
    id = ma.fields.Integer()
    course_id = ma.fields.Integer()
    module_id = ma.fields.Integer(allow_none=True)
    user = ma.fields.Nested(AuthorSchema)
    author = ma.fields.Nested(AuthorSchema, metadata={"description": "the same as user"})
    title = ma.fields.String()
    body = ma.fields.String()
    votes = ma.fields.Integer()
    reply_count = ma.fields.Integer(metadata={"description": "visible replies"})
    accepted_reply_id = ma.fields.Integer(allow_none=True)
    my_vote = ma.fields.Integer(metadata={"description": "the caller's vote: 1, -1 or 0"})
    hidden = ma.fields.Boolean(metadata={"description": "hidden by moderation (only admins see such posts)"})
    created_at = Timestamp()
    edited_at = Timestamp(allow_none=True)


class PostCreatedSchema(PostSchema):
    xp_awarded = ma.fields.Integer(metadata={"description": "forum_post XP earned (0 over the daily cap)"})


PostPageSchema = page_schema(PostSchema)


class ReplyBodySchema(ma.Schema):
    body = _body(required=True)


class ReplySchema(ma.Schema):
    id = ma.fields.Integer()
    post_id = ma.fields.Integer()
    user = ma.fields.Nested(AuthorSchema)
    author = ma.fields.Nested(AuthorSchema, metadata={"description": "the same as user"})
    body = ma.fields.String()
    votes = ma.fields.Integer()
    is_accepted = ma.fields.Boolean()
    my_vote = ma.fields.Integer()
    hidden = ma.fields.Boolean()
    created_at = Timestamp()
    edited_at = Timestamp(allow_none=True)


ReplyPageSchema = page_schema(ReplySchema)


class VoteSchema(ma.Schema):
    value = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.OneOf((1, -1, 0)),
        metadata={"description": "1 up, -1 down, 0 withdraws"},
    )


class VoteResultSchema(ma.Schema):
    votes = ma.fields.Integer(metadata={"description": "the item's total after this vote"})
    my_vote = ma.fields.Integer()


class AcceptSchema(ma.Schema):
    reply_id = ma.fields.Integer(
        required=True,
        allow_none=True,
        **_ID,
        metadata={"description": "a reply to this post; null un-accepts"},
    )


class FlagCreateSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(FLAG_REASONS))
    note = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=NOTE_MAX))


class FlagSchema(ma.Schema):
    id = ma.fields.Integer()
    post_id = ma.fields.Integer(allow_none=True)
    reply_id = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    created_at = Timestamp()


class FlagListArgs(PaginationArgs):
    status = ma.fields.String(load_default="open", validate=ma.validate.OneOf(FLAG_STATUSES))


class FlagUserSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class FlagEntrySchema(FlagSchema):
    user = ma.fields.Nested(FlagUserSchema)


class FlaggedContentSchema(ma.Schema):
    id = ma.fields.Integer()
    post_id = ma.fields.Integer()
    title = ma.fields.String(
        metadata={"description": "the post's title (of the post replied to, for a reply)"}
    )
    body = ma.fields.String()
    hidden = ma.fields.Boolean()
    created_at = Timestamp()


class CourseRefSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()


class FlaggedItemSchema(ma.Schema):
    flag_id = ma.fields.Integer(metadata={"description": "any of these flags' ids resolves them all"})
    object_type = ma.fields.String(metadata={"description": "post | reply"})
    object_id = ma.fields.Integer()
    content = ma.fields.Nested(FlaggedContentSchema)
    author = ma.fields.Nested(AuthorSchema)
    course = ma.fields.Nested(CourseRefSchema)
    flag_count = ma.fields.Integer()
    reasons = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "how many flags give each reason"},
    )
    flags = ma.fields.List(ma.fields.Nested(FlagEntrySchema))


FlaggedItemPageSchema = page_schema(FlaggedItemSchema)


class ResolveSchema(ma.Schema):
    action = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(ACTIONS),
        metadata={"description": "hide the content, or dismiss the flags (restores it)"},
    )


class ResolutionSchema(ma.Schema):
    action = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.Integer()
    hidden = ma.fields.Boolean()
    flag_ids = ma.fields.List(ma.fields.Integer(), metadata={"description": "the flags resolved"})
