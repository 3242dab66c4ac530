"""Enrollment rules (granting and revoking access); course-system rules build on these."""
from __future__ import annotations

from sqlalchemy import update

from common.catalog.models import Course
from common.db import db, insert_ignore, utcnow
from common.learning.models import Enrollment


def grant_enrollment(*, user_id: int, course_id: int, source: str, payment_id: int | None = None) -> bool:
    """Give the user active access to the course exactly once; True if access was newly granted.

    Runs in the caller's unit of work (no commit). A revoked enrollment is re-activated (e.g. a
    refunded course bought again). Safe under concurrency: the (user, course) unique key decides.
    """
    if insert_ignore(Enrollment, user_id=user_id, course_id=course_id, source=source,
                     payment_id=payment_id, status="active", enrolled_at=utcnow()):
        _bump_count(course_id, +1)
        return True
    reactivated = db.session.execute(
        update(Enrollment)
        .where(Enrollment.user_id == user_id, Enrollment.course_id == course_id, Enrollment.status == "revoked")
        .values(status="active", source=source, payment_id=payment_id, revoked_at=None, enrolled_at=utcnow())
    ).rowcount
    if reactivated:
        _bump_count(course_id, +1)
    return bool(reactivated)


def revoke_enrollment(*, user_id: int, course_id: int) -> bool:
    """Revoke the user's access (refund); True if an active enrollment was revoked. No commit."""
    revoked = db.session.execute(
        update(Enrollment)
        .where(Enrollment.user_id == user_id, Enrollment.course_id == course_id, Enrollment.status == "active")
        .values(status="revoked", revoked_at=utcnow())
    ).rowcount
    if revoked:
        _bump_count(course_id, -1)
    return bool(revoked)


def _bump_count(course_id: int, delta: int) -> None:
    db.session.execute(update(Course).where(Course.id == course_id)
                       .values(enrollment_count=Course.enrollment_count + delta))
