"""Admin reads: the course review queue, the user directory and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from common.accounts.models import ROLES, USER_STATUSES, User
from common.admin.models import AuditLog
from common.catalog.models import COURSE_STATUSES, Course, Lesson, Module
from common.db import LIKE_ESCAPE, contains_pattern
from common.errors import ValidationError
from common.learning.models import Enrollment
from common.pagination import Page, paginate
from common.quizzes.models import Quiz

USER_SORTS = ("newest", "oldest", "email", "name", "xp", "last_login")


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError("Validation failed", {"query": {field: [message]}})


def _count(model, course_id_col):
    return (
        select(func.count())
        .select_from(model)
        .where(course_id_col == Course.id)
        .correlate(Course)
        .scalar_subquery()
    )


def review_queue(*, status: str = "pending", page: int = 1, per_page: int = 20) -> Page:
    """Courses in `status`, oldest submission first, as rows (Course, modules, lessons, quizzes)."""
    if status not in COURSE_STATUSES:
        raise _invalid("status", f"Must be one of: {', '.join(COURSE_STATUSES)}.")
    stmt = select(
        Course,
        _count(Module, Module.course_id).label("modules"),
        _count(Lesson, Lesson.course_id).label("lessons"),
        _count(Quiz, Quiz.course_id).label("quizzes"),
    ).where(Course.status == status)
    order = (Course.submitted_at.asc().nulls_last(), Course.created_at.asc(), Course.id.asc())
    return paginate(stmt.order_by(*order), page=page, per_page=per_page, scalars=False)


def search_users(
    *,
    q: str | None = None,
    role: str | None = None,
    status: str | None = None,
    sort: str = "newest",
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """Users matching a case-insensitive substring of email or name (trigram-indexed on PostgreSQL),
    as rows (User, active enrollments)."""
    stmt = users_query(q=q, role=role, status=status, sort=sort)
    return paginate(stmt, page=page, per_page=per_page, scalars=False)


def users_query(
    *, q: str | None = None, role: str | None = None, status: str | None = None, sort: str = "newest"
):
    """The select behind search_users (ordered, not paginated)."""
    if role is not None and role not in ROLES:
        raise _invalid("role", f"Must be one of: {', '.join(ROLES)}.")
    if status is not None and status not in USER_STATUSES:
        raise _invalid("status", f"Must be one of: {', '.join(USER_STATUSES)}.")
    if sort not in USER_SORTS:
        raise _invalid("sort", f"Must be one of: {', '.join(USER_SORTS)}.")
    enrollments = (
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.user_id == User.id, Enrollment.status == "active")
        .correlate(User)
        .scalar_subquery()
    )
    stmt = select(User, enrollments.label("enrollments"))
    q = (q or "").strip().lower()
    if q:
        # Exactly the indexed expressions lower(email) / lower(name), so the trigram indexes apply.
        pattern = contains_pattern(q)
        stmt = stmt.where(
            or_(
                func.lower(User.email).like(pattern, escape=LIKE_ESCAPE),
                func.lower(User.name).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    if role:
        stmt = stmt.where(User.role == role)
    if status:
        stmt = stmt.where(User.status == status)
    order = {
        "newest": (User.created_at.desc(), User.id.desc()),
        "oldest": (User.created_at.asc(), User.id.asc()),
        "email": (User.email.asc(), User.id.asc()),
        "name": (func.lower(User.name).asc(), User.id.asc()),
        "xp": (User.xp_total.desc(), User.id.asc()),
        "last_login": (User.last_login_at.desc().nulls_last(), User.id.desc()),
    }[sort]
    return stmt.order_by(*order)


def audit_log(
    *,
    actor_id: int | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """Audit entries matching the filters, newest first (`from_` inclusive, `to` exclusive)."""
    if from_ is not None and to is not None and from_ > to:
        raise _invalid("from", "Must not be after `to`.")
    stmt = select(AuditLog)
    if actor_id is not None:
        stmt = stmt.where(AuditLog.actor_id == actor_id)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if object_type:
        stmt = stmt.where(AuditLog.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditLog.object_id == str(object_id))
    if from_ is not None:
        stmt = stmt.where(AuditLog.created_at >= from_)
    if to is not None:
        stmt = stmt.where(AuditLog.created_at < to)
    return paginate(
        stmt.order_by(AuditLog.created_at.desc(), AuditLog.id.desc()), page=page, per_page=per_page
    )
