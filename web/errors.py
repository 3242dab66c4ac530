"""One error envelope for every failure: {code, status, message, errors?} with the right status."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import jsonify
from marshmallow import ValidationError as MarshmallowValidationError
from sqlalchemy.exc import DataError as SADataError
from sqlalchemy.exc import OperationalError as SAOperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from common.cache import CacheUnavailable
from common.errors import DomainError
from web.ratelimit import RateLimitExceeded

log = logging.getLogger(__name__)


def envelope(code: int, message: str | None = None, errors: dict | None = None, headers: dict | None = None):
    payload = {
        "code": code,
        "status": HTTPStatus(code).phrase,
        "message": message or HTTPStatus(code).description,
    }
    if errors:
        payload["errors"] = errors
    response = jsonify(payload)
    response.status_code = code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if code == 401 and "WWW-Authenticate" not in response.headers:
        # RFC 7235/6750: every 401 names its scheme; a rejected token adds error="invalid_token".
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def invalid_token(message: str):
    """The 401 for a token that was presented but is unusable (RFC 6750 `invalid_token`)."""
    challenge = f'Bearer error="invalid_token", error_description="{message}"'
    return envelope(401, message, headers={"WWW-Authenticate": challenge})


def handle_http_exception(error: HTTPException):
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    message = data.get("message")
    if message is None:
        if error.code == 422:
            message = "Validation failed"
        elif error.code == 429:
            message = f"Rate limit exceeded: {error.description}"
        else:
            message = error.description
    headers = dict(data.get("headers") or {})
    # Keep headers the exception carries itself (Allow on 405, Retry-After on 429/503).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            headers.setdefault(name, value)
    if isinstance(error, RateLimitExceeded):
        headers.setdefault("Retry-After", retry_after(error))
    if error.code >= 500:
        message = HTTPStatus(error.code).description if isinstance(error, InternalServerError) else message
    return envelope(error.code or 500, message, errors, headers)


def retry_after(error: RateLimitExceeded) -> str:
    """Whole seconds until the breached window resets (the window's length when the store could not
    say: an honest upper bound). The store is asked only on the 429 path (web/ratelimit.py)."""
    return str(error.seconds_to_reset())


def handle_domain_error(error: DomainError):
    return envelope(error.status_code, error.message, error.errors, error.headers)


def handle_cache_unavailable(error: CacheUnavailable):
    log.warning("cache unavailable: %s", error)
    return envelope(503, "A backing service is unavailable, try again shortly", headers={"Retry-After": "5"})


def handle_db_unavailable(error: SAOperationalError):
    log.exception("database error")
    return envelope(503, "The database is unavailable, try again shortly", headers={"Retry-After": "5"})


def handle_data_error(error: SADataError):
    """A value the database refused (numeric out of range, invalid byte sequence, NUL in text...).

    A backstop: web/inputs.py refuses such input at the edge; this keeps any that slips past a 422.
    """
    from common.db import db

    db.session.rollback()
    log.warning("database refused a value: %s", str(error.orig).splitlines()[0] if error.orig else error)
    return envelope(422, "A value is out of range or not valid text")


def handle_marshmallow(error: MarshmallowValidationError):
    return envelope(422, "Validation failed", {"json": error.messages})


def handle_unexpected(error: Exception):
    log.exception("unhandled error")
    return envelope(500, "The server hit an unexpected error; it has been logged")


def register_error_handlers(app) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CacheUnavailable, handle_cache_unavailable)
    app.register_error_handler(SAOperationalError, handle_db_unavailable)
    app.register_error_handler(SADataError, handle_data_error)
    app.register_error_handler(MarshmallowValidationError, handle_marshmallow)
    app.register_error_handler(Exception, handle_unexpected)
