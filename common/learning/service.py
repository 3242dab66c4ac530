"""Enrollment rules (granting and revoking access); course-system rules build on these."""
from __future__ import annotations

from sqlalchemy import and_, func, select, update

from common.catalog.access import visible_course
from common.catalog.models import Course, Lesson, Module
from common.db import db, insert_ignore, utcnow
from common.errors import Conflict, Forbidden, PaymentRequired, not_found
from common.gamification.service import award_xp
from common.learning.models import Enrollment, LessonProgress
from common.pagination import Page, paginate
from common.quizzes.models import Quiz, QuizResult


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


# ---------------------------------------------------------------------------------------------
# Course-system rules: free enrollment, lesson completion, progress and course completion.


def enroll_free(*, user_id: int, course_id: int, role: str | None = "student") -> Enrollment:
    """Enroll a student in a free approved course. Commits.

    PaymentRequired for paid courses (they go through /api/payments/order), Conflict if already
    enrolled, Forbidden for other roles, NotFound for a course the caller may not see.
    """
    course = visible_course(course_id, user_id, role)
    if role not in (None, "student"):
        raise Forbidden("Only students enroll in courses")
    if course.status != "approved":
        raise not_found("Course", course_id)
    if course.price > 0:
        raise PaymentRequired(
            f"This course costs {course.price} {course.currency} (smallest unit); "
            "buy it with POST /api/payments/order",
            errors={"hint": {"method": "POST", "path": "/api/payments/order", "body": {"course_id": course.id}}},
        )
    if not grant_enrollment(user_id=user_id, course_id=course.id, source="free"):
        db.session.rollback()
        raise Conflict("You are already enrolled in this course")
    db.session.commit()
    return db.session.execute(select(Enrollment).where(
        Enrollment.user_id == user_id, Enrollment.course_id == course.id)).scalar_one()


def my_enrollments(*, user_id: int, page: int = 1, per_page: int = 20) -> Page:
    """The user's active enrollments, newest first, as rows (Enrollment, completed, total).

    Two queries whatever the page size: the count and one page query whose per-course lesson
    totals and completion counts are correlated subqueries on indexed columns.
    """
    total = (select(func.count()).select_from(Lesson).where(Lesson.course_id == Enrollment.course_id)
             .correlate(Enrollment).scalar_subquery())
    done = (select(func.count()).select_from(LessonProgress)
            .where(LessonProgress.user_id == Enrollment.user_id, LessonProgress.course_id == Enrollment.course_id)
            .correlate(Enrollment).scalar_subquery())
    stmt = (select(Enrollment, done.label("completed_lessons"), total.label("total_lessons"))
            .where(Enrollment.user_id == user_id, Enrollment.status == "active")
            .order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc()))
    return paginate(stmt, page=page, per_page=per_page, scalars=False)


def percent(completed: int, total: int) -> int:
    return int(completed * 100 // total) if total else 0


def _active_enrollment(user_id: int, course_id: int) -> Enrollment | None:
    """The user's active enrollment with its course (joined), or None."""
    return db.session.execute(select(Enrollment).where(
        Enrollment.user_id == user_id, Enrollment.course_id == course_id, Enrollment.status == "active",
    )).scalar_one_or_none()


def _enrolled_course(user_id: int, course_id: int, role: str | None) -> Enrollment:
    """The active enrollment in a visible course: 404 if the course is invisible, 403 if not enrolled."""
    enrollment = _active_enrollment(user_id, course_id)
    if enrollment is None or enrollment.course.status != "approved":
        visible_course(course_id, user_id, role)
        if enrollment is None:
            raise Forbidden("Enroll in this course first")
    return enrollment


def course_progress(*, user_id: int, course_id: int, role: str | None = "student") -> dict:
    """Per-lesson completion, per-module quiz status and the next lesson for an enrolled student.

    Four queries: the enrollment with its course, the outline rows, the user's completions and
    the course's quizzes with whether the user passed each (never their answers).
    """
    enrollment = _enrolled_course(user_id, course_id, role)
    course = enrollment.course
    rows = db.session.execute(
        select(Module.id, Module.title, Module.position, Lesson.id, Lesson.title, Lesson.position,
               Lesson.duration_seconds)
        .outerjoin(Lesson, Lesson.module_id == Module.id).where(Module.course_id == course.id)
        .order_by(Module.position, Lesson.position)
    ).all()
    done = dict(db.session.execute(
        select(LessonProgress.lesson_id, LessonProgress.completed_at)
        .where(LessonProgress.user_id == user_id, LessonProgress.course_id == course.id)).all())
    passed_any = (select(QuizResult.id).where(QuizResult.quiz_id == Quiz.id, QuizResult.user_id == user_id,
                                              QuizResult.is_correct.is_(True)).exists())
    quizzes = db.session.execute(select(Quiz.module_id, passed_any).where(Quiz.course_id == course.id)).all()
    quiz_status: dict[int, dict] = {}
    for module_id, passed in quizzes:
        status = quiz_status.setdefault(module_id, {"total": 0, "passed": 0})
        status["total"] += 1
        status["passed"] += bool(passed)
    modules: dict[int, dict] = {}
    next_lesson = None
    for m_id, m_title, m_position, l_id, l_title, l_position, duration in rows:
        module = modules.get(m_id)
        if module is None:
            module = modules[m_id] = {
                "id": m_id, "title": m_title, "position": m_position, "completed_lessons": 0, "total_lessons": 0,
                "quizzes": quiz_status.get(m_id, {"total": 0, "passed": 0}), "lessons": []}
        if l_id is None:
            continue
        finished = done.get(l_id)
        module["lessons"].append({"id": l_id, "title": l_title, "position": l_position,
                                  "duration_seconds": duration, "completed": finished is not None,
                                  "completed_at": finished})
        module["total_lessons"] += 1
        module["completed_lessons"] += finished is not None
        if finished is None and next_lesson is None:
            next_lesson = {"id": l_id, "module_id": m_id, "title": l_title, "position": l_position}
    completed = sum(m["completed_lessons"] for m in modules.values())
    total = sum(m["total_lessons"] for m in modules.values())
    return {
        "course_id": course.id, "title": course.title, "enrolled_at": enrollment.enrolled_at,
        "completed_at": enrollment.completed_at,
        "progress": {"completed_lessons": completed, "total_lessons": total, "percent": percent(completed, total)},
        "quizzes": {"total": len(quizzes), "passed": sum(1 for _, passed in quizzes if passed)},
        "next_lesson": next_lesson, "modules": list(modules.values()),
    }


def complete_lesson(*, user_id: int, lesson_id: int, role: str | None = "student") -> dict:
    """Record that an enrolled student finished a lesson; idempotent. Commits.

    The first call stores the completion and awards `lesson_complete` XP in one transaction, then
    checks whether the whole course is now complete; a repeated call changes nothing.
    """
    row = db.session.execute(
        select(Lesson.course_id, Course.status, Course.instructor_id, Course.domain, Enrollment.id.label("enrolled"),
               Enrollment.completed_at)
        .join(Course, Course.id == Lesson.course_id)
        .outerjoin(Enrollment, and_(Enrollment.course_id == Lesson.course_id, Enrollment.user_id == user_id,
                                    Enrollment.status == "active"))
        .where(Lesson.id == lesson_id)
    ).one_or_none()
    if row is None or not (row.status == "approved" or role == "admin" or row.instructor_id == user_id):
        raise not_found("Lesson", lesson_id)
    if row.enrolled is None:
        raise Forbidden("Enroll in this course first")
    now = utcnow()
    inserted = insert_ignore(LessonProgress, user_id=user_id, lesson_id=lesson_id, course_id=row.course_id,
                             completed_at=now)
    if not inserted:
        db.session.rollback()
        completed_at = db.session.execute(select(LessonProgress.completed_at).where(
            LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson_id)).scalar_one()
        return {"lesson_id": lesson_id, "course_id": row.course_id, "completed": True, "completed_at": completed_at,
                "already_completed": True, "xp_awarded": 0, "course_completed": row.completed_at is not None,
                "course_newly_completed": False}
    xp = award_xp(user_id=user_id, type="lesson_complete", source_id=lesson_id, course_id=row.course_id,
                  domain=row.domain)
    db.session.commit()
    newly = check_course_completion(user_id=user_id, course_id=row.course_id)
    return {"lesson_id": lesson_id, "course_id": row.course_id, "completed": True, "completed_at": now,
            "already_completed": False, "xp_awarded": xp, "course_completed": newly or row.completed_at is not None,
            "course_newly_completed": newly}


def check_course_completion(*, user_id: int, course_id: int) -> bool:
    """Stamp the enrollment complete once every lesson is done and every quiz passed.

    Commits when it stamps (the caller's pending work too); otherwise leaves the session as it is.
    True only for the one call that newly completed the course (a conditional UPDATE decides under
    concurrency); that call then asks for the certificate. A course without lessons never completes.
    """
    counts = db.session.execute(select(
        select(func.count()).select_from(Lesson).where(Lesson.course_id == course_id).scalar_subquery(),
        select(func.count()).select_from(LessonProgress)
        .where(LessonProgress.user_id == user_id, LessonProgress.course_id == course_id).scalar_subquery(),
        select(func.count()).select_from(Quiz).where(Quiz.course_id == course_id).scalar_subquery(),
        select(func.count(func.distinct(QuizResult.quiz_id)))
        .where(QuizResult.user_id == user_id, QuizResult.course_id == course_id, QuizResult.is_correct.is_(True),
               QuizResult.quiz_id.in_(select(Quiz.id).where(Quiz.course_id == course_id))).scalar_subquery(),
    )).one()
    lessons, lessons_done, quizzes, quizzes_passed = counts
    if lessons == 0 or lessons_done < lessons or quizzes_passed < quizzes:
        # Leave the caller's transaction alone: a quiz attempt may still be uncommitted.
        return False
    stamped = db.session.execute(
        update(Enrollment)
        .where(Enrollment.user_id == user_id, Enrollment.course_id == course_id, Enrollment.status == "active",
               Enrollment.completed_at.is_(None))
        .values(completed_at=utcnow())
    ).rowcount
    db.session.commit()
    if stamped != 1:
        return False
    # Imported here: the certificates service builds on learning, not the other way round.
    from common.certificates.service import request_certificate

    request_certificate(user_id=user_id, course_id=course_id)
    return True
