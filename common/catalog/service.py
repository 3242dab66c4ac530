"""Course rules: authoring, the review workflow, the public catalogue and the cache versions behind it."""

from __future__ import annotations

import hashlib
import json
import re

from flask import current_app
from sqlalchemy import delete, exists, func, literal_column, select
from sqlalchemy.orm import selectinload

from common.admin import audit
from common.cache import CachedBody, cache
from common.catalog import positions
from common.catalog.access import (
    can_see,
    is_enrolled,
    is_owner_or_admin,
    owned_course,
    owned_lesson,
    owned_module,
    require_content_access,
    visible_course,
    visible_lesson,
    visible_module,
)
from common.catalog.models import Course, Lesson, Module
from common.db import db, is_postgres, read_without_transaction, utcnow
from common.errors import Conflict, InvalidState, ValidationError, not_found
from common.learning.models import Enrollment
from common.pagination import Page, paginate
from common.payments.models import Payment

SORTS = ("newest", "popular", "price")
DOMAIN_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
URL_FIELDS = ("video_url", "materials_url", "subtitle_url")
COURSE_FIELDS = ("title", "description", "domain", "price", "currency")
LESSON_FIELDS = ("title", "duration_seconds", *URL_FIELDS)

# Exactly the expression of the GIN index ix_courses_search, as literal SQL so that the planner
# matches it (bound parameters in a generic plan would not).
_SEARCH_VECTOR = literal_column(
    "to_tsvector('english', coalesce(courses.title, '') || ' ' || coalesce(courses.description, ''))"
)

# ---------------------------------------------------------------------------------------------
# Cache versions: readers take a version before reading the database and key entries by it;
# writers bump it after commit, so an entry computed from old rows is never read again.
CATALOGUE_VERSION = "catalog:v"


def _course_version_key(course_id: int) -> str:
    return f"catalog:course:{course_id}:v"


def catalogue_body(kind: str, params=None) -> CachedBody:
    """The cached body of a public catalogue read (`list`, `domains`): `params` is the query as
    parsed (never the raw query string, so unknown parameters cannot mint entries), any JSON-able
    value. Entries live CACHE_DEFAULT_TTL seconds at most; every catalogue change bumps the family."""
    digest = hashlib.sha1(json.dumps(params or {}, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return CachedBody(CATALOGUE_VERSION, f"catalog:{kind}:", f":{digest}", _ttl())


def outline_body(*, course_id: int, user_id: int | None, role: str | None) -> tuple[CachedBody, bool]:
    """(the cached outline body for this caller, whether it carries lesson URLs).

    Two variants per course: `full` (URLs: enrolled students, the owner, admins) and `public`.
    Anonymous callers always get the public variant, so their cache hit needs no database; for a
    signed-in caller the variant is decided first (NotFound if the course is invisible to them).
    """
    full = user_id is not None and content_access(course_id=course_id, user_id=user_id, role=role)
    variant = "full" if full else "public"
    return CachedBody(
        _course_version_key(course_id), f"catalog:outline:{course_id}:", f":{variant}", _ttl()
    ), full


def _ttl() -> int:
    return current_app.config["CACHE_DEFAULT_TTL"]


def invalidate(course_id: int | None = None) -> None:
    """Make every cached catalogue page (and the course's outlines) stale. Call after commit."""
    cache.bump(CATALOGUE_VERSION)
    if course_id is not None:
        cache.bump(_course_version_key(course_id))


# ---------------------------------------------------------------------------------------------
# Catalogue


def search_catalogue(
    *,
    domain: str | None = None,
    q: str | None = None,
    instructor_id: int | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    sort: str = "newest",
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """One page of approved courses matching the filters."""
    if sort not in SORTS:
        raise ValidationError("Invalid sort", {"query": {"sort": [f"Must be one of: {', '.join(SORTS)}."]}})
    if min_price is not None and max_price is not None and min_price > max_price:
        raise ValidationError(
            "Invalid price range", {"query": {"min_price": ["Must not be greater than max_price."]}}
        )
    read_without_transaction()
    stmt = select(Course).where(Course.status == "approved")
    if domain:
        stmt = stmt.where(Course.domain == domain)
    if instructor_id is not None:
        stmt = stmt.where(Course.instructor_id == instructor_id)
    if min_price is not None:
        stmt = stmt.where(Course.price >= min_price)
    if max_price is not None:
        stmt = stmt.where(Course.price <= max_price)
    q = (q or "").strip()
    if q:
        if is_postgres():
            stmt = stmt.where(
                _SEARCH_VECTOR.bool_op("@@")(func.plainto_tsquery(literal_column("'english'"), q))
            )
        else:
            stmt = stmt.where(
                Course.title.icontains(q, autoescape=True) | Course.description.icontains(q, autoescape=True)
            )
    order = {
        "newest": (Course.created_at.desc(), Course.id.desc()),
        "popular": (Course.enrollment_count.desc(), Course.id.desc()),
        "price": (Course.price.asc(), Course.id.asc()),
    }[sort]
    return paginate(stmt.order_by(*order), page=page, per_page=per_page)


def domain_counts() -> list[dict]:
    """Every domain with approved courses and how many, most courses first."""
    count = func.count(Course.id)
    rows = db.session.execute(
        select(Course.domain, count)
        .where(Course.status == "approved")
        .group_by(Course.domain)
        .order_by(count.desc(), Course.domain)
    ).all()
    return [{"domain": domain, "count": n} for domain, n in rows]


def content_access(*, course_id: int, user_id: int | None, role: str | None) -> bool:
    """Whether the caller may see lesson URLs; NotFound if the course is invisible to them."""
    course = visible_course(course_id, user_id, role)
    return is_owner_or_admin(course, user_id, role) or is_enrolled(user_id, course.id)


def course_outline(*, course_id: int, user_id: int | None, role: str | None) -> Course:
    """The visible course with its modules and lessons loaded in order (three queries)."""
    course = (
        db.session.execute(
            select(Course)
            .where(Course.id == course_id)
            .options(selectinload(Course.modules).selectinload(Module.lessons))
        )
        .unique()
        .scalar_one_or_none()
    )
    if course is None or not can_see(course, user_id, role):
        raise not_found("Course", course_id)
    return course


# ---------------------------------------------------------------------------------------------
# Courses


def _validate_course_fields(values: dict) -> None:
    errors = {}
    if "domain" in values and not (
        values["domain"] and len(values["domain"]) <= 64 and DOMAIN_RE.match(values["domain"])
    ):
        errors["domain"] = ["Use lower-case letters, digits and single hyphens (a slug)."]
    if "price" in values and (values["price"] is None or values["price"] < 0):
        errors["price"] = ["Must be a non-negative integer in the currency's smallest unit."]
    if "currency" in values and not CURRENCY_RE.match(values["currency"] or ""):
        errors["currency"] = ["Must be a 3-letter upper-case ISO 4217 code."]
    elif "currency" in values and values["currency"] not in current_app.config["SUPPORTED_CURRENCIES"]:
        supported = ", ".join(current_app.config["SUPPORTED_CURRENCIES"])
        errors["currency"] = [f"Not a currency the platform accepts payments in (supported: {supported})."]
    if "title" in values and not (values["title"] or "").strip():
        errors["title"] = ["Must not be blank."]
    if errors:
        raise ValidationError("Validation failed", {"json": errors})


def create_course(
    *,
    instructor_id: int,
    title: str,
    domain: str,
    description: str = "",
    price: int = 0,
    currency: str = "INR",
) -> Course:
    """A new draft course owned by the instructor."""
    values = dict(title=title, domain=domain, description=description or "", price=price, currency=currency)
    _validate_course_fields(values)
    course = Course(instructor_id=instructor_id, status="draft", **values)
    db.session.add(course)
    db.session.commit()
    invalidate(course.id)
    return course


def update_course(*, course_id: int, user_id: int, role: str, **changes) -> Course:
    """Change the course's fields; the status stays as it is (an approved course stays public)."""
    course = owned_course(course_id, user_id, role)
    unknown = set(changes) - set(COURSE_FIELDS)
    if unknown:
        raise ValidationError("Validation failed", {"json": {name: ["Unknown field."] for name in unknown}})
    _validate_course_fields(changes)
    for name, value in changes.items():
        setattr(course, name, value if name != "description" else (value or ""))
    db.session.commit()
    invalidate(course.id)
    return course


def delete_course(*, course_id: int, user_id: int, role: str) -> None:
    """Delete the course and (by database cascade) its content; refused once students are enrolled."""
    course = owned_course(course_id, user_id, role)
    enrolled = db.session.execute(
        select(exists().where(Enrollment.course_id == course.id, Enrollment.status == "active"))
    ).scalar()
    if enrolled and role != "admin":
        raise Conflict("Students are enrolled in this course; it can no longer be deleted")
    audit.record(
        actor_id=user_id,
        action="course.delete",
        object_type="course",
        object_id=course.id,
        detail={"title": course.title, "status": course.status, "had_enrollments": bool(enrolled)},
        before={"title": course.title, "status": course.status, "instructor_id": course.instructor_id},
    )
    db.session.execute(delete(Course).where(Course.id == course.id))
    db.session.commit()
    invalidate(course_id)


def submit_course(*, course_id: int, user_id: int, role: str) -> Course:
    """Send a draft or rejected course for review (it needs a module with at least one lesson)."""
    course = owned_course(course_id, user_id, role)
    if course.status not in ("draft", "rejected"):
        raise InvalidState(f"A {course.status} course cannot be submitted for review")
    has_lesson = db.session.execute(select(exists().where(Lesson.course_id == course.id))).scalar()
    if not has_lesson:
        raise InvalidState("Add at least one module with a lesson before submitting")
    course.status = "pending"
    course.submitted_at = utcnow()
    course.rejection_reason = None
    db.session.commit()
    invalidate(course.id)
    return course


_VERBS = {"course.approve": "approved", "course.reject": "rejected", "course.unpublish": "unpublished"}


def _review_state(course: Course) -> dict:
    return {"status": course.status, "review_reason": course.rejection_reason}


def _review(
    course_id: int,
    actor_id: int,
    action: str,
    *,
    from_status: str = "pending",
    reason: str | None = None,
    **values,
) -> Course:
    course = db.session.execute(
        select(Course).where(Course.id == course_id).with_for_update()
    ).scalar_one_or_none()
    if course is None:
        raise not_found("Course", course_id)
    if course.status != from_status:
        db.session.rollback()
        raise InvalidState(f"Only {from_status} courses can be {_VERBS[action]}; this one is {course.status}")
    before = _review_state(course)
    for name, value in values.items():
        setattr(course, name, value)
    audit.record(
        actor_id=actor_id,
        action=action,
        object_type="course",
        object_id=course.id,
        detail={"reason": reason} if reason else None,
        before=before,
        after=_review_state(course),
    )
    db.session.commit()
    invalidate(course.id)
    return course


def approve_course(*, actor_id: int, course_id: int) -> Course:
    """Publish a pending course (admin review). InvalidState unless pending."""
    return _review(
        course_id, actor_id, "course.approve", status="approved", approved_at=utcnow(), rejection_reason=None
    )


def reject_course(*, actor_id: int, course_id: int, reason: str | None = None) -> Course:
    """Send a pending course back to its instructor with a reason. InvalidState unless pending."""
    return _review(
        course_id,
        actor_id,
        "course.reject",
        reason=reason,
        status="rejected",
        rejection_reason=reason or None,
    )


def unpublish_course(*, actor_id: int, course_id: int, reason: str) -> Course:
    """Take an approved course out of the catalogue (-> rejected, with the reason for its instructor).

    Students already enrolled keep their access (the course keeps its `approved_at`); nobody new can
    enroll or buy it until it is submitted and approved again. InvalidState unless approved.
    """
    return _review(
        course_id,
        actor_id,
        "course.unpublish",
        from_status="approved",
        reason=reason,
        status="rejected",
        rejection_reason=reason,
    )


def instructor_courses(
    *, instructor_id: int, status: str | None = None, page: int = 1, per_page: int = 20
) -> Page:
    """The instructor's own courses, newest first, as rows (Course, active enrollments, paid revenue)."""
    enrolled = (
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.course_id == Course.id, Enrollment.status == "active")
        .correlate(Course)
        .scalar_subquery()
    )
    revenue = (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(Payment.course_id == Course.id, Payment.status == "paid")
        .correlate(Course)
        .scalar_subquery()
    )
    stmt = select(Course, enrolled.label("enrollments"), revenue.label("revenue")).where(
        Course.instructor_id == instructor_id
    )
    if status:
        stmt = stmt.where(Course.status == status)
    return paginate(
        stmt.order_by(Course.created_at.desc(), Course.id.desc()), page=page, per_page=per_page, scalars=False
    )


# ---------------------------------------------------------------------------------------------
# Modules


def _lock(model, ident: int) -> None:
    """Serialise position changes among one parent's children (no-op on SQLite)."""
    db.session.execute(select(model.id).where(model.id == ident).with_for_update())


def list_modules(*, course_id: int, user_id: int | None, role: str | None) -> list[Module]:
    course = visible_course(course_id, user_id, role)
    return list(
        db.session.execute(
            select(Module).where(Module.course_id == course.id).order_by(Module.position)
        ).scalars()
    )


def create_module(
    *, course_id: int, user_id: int, role: str, title: str, position: int | None = None
) -> Module:
    """Insert a module at `position` (default: last), shifting later modules down."""
    course = owned_course(course_id, user_id, role)
    _lock(Course, course.id)
    slot = positions.open_slot(Module, Module.course_id, course.id, position)
    module = Module(course_id=course.id, title=title, position=slot)
    db.session.add(module)
    db.session.commit()
    invalidate(course.id)
    return module


def update_module(
    *, module_id: int, user_id: int, role: str, title: str | None = None, position: int | None = None
) -> Module:
    """Rename and/or move a module; siblings close up around it."""
    module = owned_module(module_id, user_id, role)
    course_id = module.course_id
    if position is not None:
        _lock(Course, course_id)
        db.session.refresh(module)
        positions.move(Module, Module.course_id, course_id, module.id, module.position, position)
    if title is not None:
        module.title = title
    db.session.commit()
    invalidate(course_id)
    return module


def delete_module(*, module_id: int, user_id: int, role: str) -> None:
    """Delete a module with its lessons and quizzes; later modules move up."""
    module = owned_module(module_id, user_id, role)
    course_id = module.course_id
    _lock(Course, course_id)
    db.session.refresh(module)
    position = module.position
    audit.record(
        actor_id=user_id,
        action="module.delete",
        object_type="module",
        object_id=module.id,
        detail={"course_id": course_id},
        before={"title": module.title, "position": position},
    )
    db.session.execute(delete(Module).where(Module.id == module.id))
    positions.close_gap(Module, Module.course_id, course_id, position)
    db.session.commit()
    invalidate(course_id)


# ---------------------------------------------------------------------------------------------
# Lessons


def _validate_lesson_fields(values: dict) -> None:
    errors = {}
    for name in URL_FIELDS:
        url = values.get(name)
        if url is None:
            if name == "video_url" and name in values:
                errors[name] = ["Field may not be null."]
            continue
        if not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE) or len(url) > 2048:
            errors[name] = ["Must be an http:// or https:// URL."]
    if values.get("duration_seconds") is not None and values["duration_seconds"] < 0:
        errors["duration_seconds"] = ["Must be at least 0."]
    if "title" in values and not (values["title"] or "").strip():
        errors["title"] = ["Must not be blank."]
    if errors:
        raise ValidationError("Validation failed", {"json": errors})


def list_lessons(*, module_id: int, user_id: int | None, role: str | None) -> tuple[list[Lesson], bool]:
    """The module's lessons in order and whether the caller may see their URLs."""
    module = visible_module(module_id, user_id, role)
    course = module.course
    access = is_owner_or_admin(course, user_id, role) or is_enrolled(user_id, course.id)
    lessons = (
        db.session.execute(select(Lesson).where(Lesson.module_id == module.id).order_by(Lesson.position))
        .scalars()
        .all()
    )
    return list(lessons), access


def get_lesson(*, lesson_id: int, user_id: int | None, role: str | None) -> Lesson:
    """A lesson with its content: enrolled students, the owner and admins (others: 403/404)."""
    lesson = visible_lesson(lesson_id, user_id, role)
    require_content_access(lesson.module.course, user_id, role)
    return lesson


def create_lesson(
    *,
    module_id: int,
    user_id: int,
    role: str,
    title: str,
    video_url: str,
    materials_url: str | None = None,
    subtitle_url: str | None = None,
    duration_seconds: int | None = None,
    position: int | None = None,
) -> Lesson:
    """Insert a lesson at `position` (default: last) of the module, shifting later lessons down."""
    values = dict(
        title=title,
        video_url=video_url,
        materials_url=materials_url,
        subtitle_url=subtitle_url,
        duration_seconds=duration_seconds,
    )
    _validate_lesson_fields(values)
    module = owned_module(module_id, user_id, role)
    _lock(Module, module.id)
    slot = positions.open_slot(Lesson, Lesson.module_id, module.id, position)
    lesson = Lesson(module_id=module.id, course_id=module.course_id, position=slot, **values)
    db.session.add(lesson)
    db.session.commit()
    invalidate(lesson.course_id)
    return lesson


def update_lesson(
    *, lesson_id: int, user_id: int, role: str, position: int | None = None, **changes
) -> Lesson:
    """Change a lesson's fields and/or move it within its module."""
    unknown = set(changes) - set(LESSON_FIELDS)
    if unknown:
        raise ValidationError("Validation failed", {"json": {name: ["Unknown field."] for name in unknown}})
    _validate_lesson_fields(changes)
    lesson = owned_lesson(lesson_id, user_id, role)
    course_id, module_id = lesson.course_id, lesson.module_id
    if position is not None:
        _lock(Module, module_id)
        db.session.refresh(lesson)
        positions.move(Lesson, Lesson.module_id, module_id, lesson.id, lesson.position, position)
    for name, value in changes.items():
        setattr(lesson, name, value)
    db.session.commit()
    invalidate(course_id)
    return lesson


def delete_lesson(*, lesson_id: int, user_id: int, role: str) -> None:
    """Delete a lesson (and its progress rows); later lessons move up."""
    lesson = owned_lesson(lesson_id, user_id, role)
    course_id, module_id = lesson.course_id, lesson.module_id
    _lock(Module, module_id)
    db.session.refresh(lesson)
    position = lesson.position
    audit.record(
        actor_id=user_id,
        action="lesson.delete",
        object_type="lesson",
        object_id=lesson.id,
        detail={"course_id": course_id, "module_id": module_id},
        before={"title": lesson.title, "position": position, "video_url": lesson.video_url},
    )
    db.session.execute(delete(Lesson).where(Lesson.id == lesson.id))
    positions.close_gap(Lesson, Lesson.module_id, module_id, position)
    db.session.commit()
    invalidate(course_id)
