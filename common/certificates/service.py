"""Certificate rules: issue on completion, render, verify, revoke (filled in by the certificates issue)."""
from __future__ import annotations


def request_certificate(*, user_id: int, course_id: int):
    """Issue the course's certificate for the user once and queue its render (after commit).

    Called by the learning service when a course becomes complete. Placeholder until the
    certificates issue lands: does nothing.
    """
    return None


def revoke_for(*, user_id: int, course_id: int, reason: str) -> None:
    """Revoke the user's certificate for the course (e.g. after a refund). No commit.

    Placeholder until the certificates issue lands.
    """
    return None
