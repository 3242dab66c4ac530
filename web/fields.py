"""Shared marshmallow fields: UTC timestamps with `Z`, http(s) URLs, trimmed non-empty strings."""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
from flask import current_app


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z` suffix, as the API contract fixes (naive values are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Timestamp(ma.fields.DateTime):
    """`timestamp()` as a marshmallow field."""

    def _serialize(self, value, attr, obj, **kwargs):
        return timestamp(value)

    def _deserialize(self, value, attr, data, **kwargs):
        parsed: datetime = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


class HttpUrl(ma.fields.Url):
    """An absolute http:// or https:// URL (no javascript:, data:, ftp: ...)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("schemes", {"http", "https"})
        kwargs.setdefault("require_tld", False)
        kwargs.setdefault("validate", ma.validate.Length(max=2048))
        super().__init__(**kwargs)


class Text(ma.fields.String):
    """A string trimmed of surrounding white space; `blank=False` refuses empty results."""

    def __init__(self, *, max_length: int, blank: bool = False, **kwargs):
        self.blank = blank
        validators = [ma.validate.Length(max=max_length)]
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text and not self.blank:
            raise ma.ValidationError("Must not be blank.")
        if "\x00" in text:
            raise ma.ValidationError("Must not contain NUL characters.")
        return text


class EmailAddress(ma.fields.Email):
    """An email address, trimmed and lower-cased before validation (max 254 characters)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", ma.validate.Length(max=254))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip().lower()
        return super()._deserialize(value, attr, data, **kwargs)


class JsonScalar(ma.fields.Raw):
    """A JSON value of an audit snapshot or job result: text, number, boolean, null or a list of text."""

    def __init__(self, **kwargs):
        metadata = {
            "nullable": True,
            "anyOf": [
                {"type": "string"},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "array", "items": {"type": "string"}},
            ],
            **kwargs.pop("metadata", {}),
        }
        super().__init__(allow_none=True, metadata=metadata, **kwargs)


def json_object(**kwargs) -> ma.fields.Dict:
    """A free-form JSON object whose values are JsonScalar (documented as such, never untyped)."""
    return ma.fields.Dict(keys=ma.fields.String(), values=JsonScalar(), **kwargs)


def absolute_url(path_or_url: str | None) -> str | None:
    """Every URL the API answers with is absolute, on PUBLIC_BASE_URL (as certificate links must be)."""
    if path_or_url and path_or_url.startswith("/"):
        return current_app.config["PUBLIC_BASE_URL"] + path_or_url
    return path_or_url


class AbsoluteUrl(ma.fields.String):
    """An absolute URL in a response; a stored path (/api/...) is made absolute with absolute_url()."""

    def __init__(self, **kwargs):
        metadata = {"format": "uri", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return absolute_url(super()._serialize(value, attr, obj, **kwargs))
