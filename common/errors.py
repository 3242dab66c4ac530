"""Domain exceptions raised by services; the web edge maps them onto the API's error envelope."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, errors: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.headers = headers


class BadRequest(DomainError):
    status_code = 400


class Unauthorized(DomainError):
    status_code = 401


class PaymentRequired(DomainError):
    status_code = 402


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class InvalidState(Conflict):
    """The object is not in a state that allows the operation."""


class ValidationError(DomainError):
    status_code = 422


class PaymentError(DomainError):
    """The payment provider refused or failed; the caller may retry later."""

    status_code = 502


class ServiceUnavailable(DomainError):
    status_code = 503


def not_found(kind: str, ident) -> NotFound:
    return NotFound(f"{kind} {ident} not found")
