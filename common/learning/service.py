"""Enrollment rules (granting and revoking access); course-system rules build on these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, select, true, update

from common.accounts.models import User
from common.catalog.access import visible_course
from common.catalog.models import Course, Lesson, Module
from common.db import (
    built_once,
    db,
    end_read,
    execute,
    insert_ignore,
    is_postgres,
    read_connection,
    utcnow,
)
from common.errors import Conflict, Forbidden, PaymentRequired, not_found
from common.gamification.service import record_course_completion
from common.learning.models import Enrollment, LessonProgress
from common.pagination import Page, paginate_counted
from common.quizzes.models import Quiz, QuizResult


def grant_enrollment(*, user_id: int, course_id: int, source: str, payment_id: int | None = None) -> bool:
    """Give the user active access to the course exactly once; True if access was newly granted.

    Runs in the caller's unit of work (no commit). A revoked enrollment is re-activated (e.g. a
    refunded course bought again): its old completion stamp is dropped and the course is completed
    afresh if every lesson and quiz is still done (the purchase flow then reinstates the certificate
    after its commit, see `is_completed`). Safe under concurrency: the (user, course) unique key decides.
    """
    if insert_ignore(
        Enrollment,
        user_id=user_id,
        course_id=course_id,
        source=source,
        payment_id=payment_id,
        status="active",
        enrolled_at=utcnow(),
    ):
        _bump_count(course_id, +1)
        return True
    reactivated = db.session.execute(
        update(Enrollment)
        .where(
            Enrollment.user_id == user_id, Enrollment.course_id == course_id, Enrollment.status == "revoked"
        )
        .values(
            status="active",
            source=source,
            payment_id=payment_id,
            revoked_at=None,
            enrolled_at=utcnow(),
            completed_at=None,
        )
    ).rowcount
    if reactivated:
        _bump_count(course_id, +1)
        stamp_if_complete(user_id=user_id, course_id=course_id)
    return bool(reactivated)


def is_completed(*, user_id: int, course_id: int) -> bool:
    """Whether the user's active enrollment in the course carries a completion stamp; no commit."""
    return (
        db.session.execute(
            select(Enrollment.completed_at).where(
                Enrollment.user_id == user_id,
                Enrollment.course_id == course_id,
                Enrollment.status == "active",
            )
        ).scalar_one_or_none()
        is not None
    )


def revoke_enrollment(*, user_id: int, course_id: int, payment_id: int | None = None) -> bool:
    """Revoke the user's access (refund); True if an active enrollment was revoked. No commit.

    With `payment_id`, only an enrollment that this payment granted is revoked (a refund of a
    duplicate payment leaves access bought by another payment alone).
    """
    conditions = [
        Enrollment.user_id == user_id,
        Enrollment.course_id == course_id,
        Enrollment.status == "active",
    ]
    if payment_id is not None:
        conditions.append(Enrollment.payment_id == payment_id)
    revoked = db.session.execute(
        update(Enrollment).where(*conditions).values(status="revoked", revoked_at=utcnow())
    ).rowcount
    if revoked:
        _bump_count(course_id, -1)
    return bool(revoked)


def _bump_count(course_id: int, delta: int) -> None:
    db.session.execute(
        update(Course).where(Course.id == course_id).values(enrollment_count=Course.enrollment_count + delta)
    )


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
        if user_id is not None and _actively_enrolled(user_id, course.id):
            raise Conflict("You are already enrolled in this course")
        raise PaymentRequired(
            f"This course costs {course.price} {course.currency} (smallest unit); "
            "buy it with POST /api/payments/order",
            errors={
                "hint": {"method": "POST", "path": "/api/payments/order", "body": {"course_id": course.id}}
            },
        )
    if not grant_enrollment(user_id=user_id, course_id=course.id, source="free"):
        db.session.rollback()
        raise Conflict("You are already enrolled in this course")
    db.session.commit()
    return db.session.execute(
        select(Enrollment).where(Enrollment.user_id == user_id, Enrollment.course_id == course.id)
    ).scalar_one()


def _actively_enrolled(user_id: int, course_id: int) -> bool:
    return (
        db.session.execute(
            select(Enrollment.id).where(
                Enrollment.user_id == user_id,
                Enrollment.course_id == course_id,
                Enrollment.status == "active",
            )
        ).first()
        is not None
    )


@built_once
def _enrollments_page_stmt():
    """Built once (bound parameters): constructing this select costs more than running it."""
    total_lessons = (
        select(func.count())
        .select_from(Lesson)
        .where(Lesson.course_id == Enrollment.course_id)
        .correlate(Enrollment)
        .scalar_subquery()
    )
    done = (
        select(func.count())
        .select_from(LessonProgress)
        .where(LessonProgress.user_id == Enrollment.user_id, LessonProgress.course_id == Enrollment.course_id)
        .correlate(Enrollment)
        .scalar_subquery()
    )
    return (
        select(
            Enrollment.id,
            Enrollment.course_id,
            Enrollment.status,
            Enrollment.source,
            Enrollment.enrolled_at,
            Enrollment.completed_at,
            Course.title,
            Course.description,
            Course.domain,
            Course.price,
            Course.currency,
            Course.status.label("course_status"),
            Course.enrollment_count,
            Course.created_at.label("course_created_at"),
            Course.updated_at.label("course_updated_at"),
            Course.instructor_id,
            User.name.label("instructor_name"),
            done.label("completed_lessons"),
            total_lessons.label("total_lessons"),
        )
        .join(Course, Course.id == Enrollment.course_id)
        .join(User, User.id == Course.instructor_id)
        .where(Enrollment.user_id == bindparam("user_id"), Enrollment.status == "active")
        .order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc())
    )


def my_enrollments(*, user_id: int, page: int = 1, per_page: int = 20) -> Page:
    """The user's active enrollments, newest first, as plain rows with course and progress columns.

    One query per page whatever its size: the total rides along as a window count, and per-course
    lesson totals and completion counts are correlated subqueries on indexed columns. Only a page
    past the end (no rows, so no window count) needs a second query for the total.
    """
    with read_connection() as connection:
        return paginate_counted(
            _enrollments_page_stmt(),
            page=page,
            per_page=per_page,
            params={"user_id": user_id},
            connection=connection,
        )


def percent(completed: int, total: int) -> int:
    return int(completed * 100 // total) if total else 0


@built_once
def _progress_stmt():
    """Built once (bound parameters), like _enrollments_page_stmt."""
    user_id = bindparam("user_id")
    enrolled = and_(
        Enrollment.course_id == Course.id, Enrollment.user_id == user_id, Enrollment.status == "active"
    )
    quiz_total = (
        select(func.count())
        .select_from(Quiz)
        .where(Quiz.module_id == Module.id)
        .correlate(Module)
        .scalar_subquery()
    )
    passed = (
        select(QuizResult.id)
        .where(QuizResult.quiz_id == Quiz.id, QuizResult.user_id == user_id, QuizResult.is_correct.is_(True))
        .exists()
    )
    quiz_passed = (
        select(func.count())
        .select_from(Quiz)
        .where(Quiz.module_id == Module.id, passed)
        .correlate(Module)
        .scalar_subquery()
    )
    return (
        select(
            Course.id,
            Course.title,
            Course.status,
            Course.instructor_id,
            Course.approved_at,
            Enrollment.enrolled_at,
            Enrollment.completed_at,
            Module.id.label("m_id"),
            Module.title.label("m_title"),
            Module.position.label("m_position"),
            quiz_total.label("quiz_total"),
            quiz_passed.label("quiz_passed"),
            Lesson.id.label("l_id"),
            Lesson.title.label("l_title"),
            Lesson.position.label("l_position"),
            Lesson.duration_seconds,
            LessonProgress.completed_at.label("l_completed_at"),
        )
        .select_from(Course)
        .outerjoin(Enrollment, enrolled)
        # The outline only for an enrolled caller: nobody else gets past the checks below.
        .outerjoin(Module, and_(Module.course_id == Course.id, Enrollment.id.is_not(None)))
        .outerjoin(Lesson, Lesson.module_id == Module.id)
        .outerjoin(
            LessonProgress, and_(LessonProgress.user_id == user_id, LessonProgress.lesson_id == Lesson.id)
        )
        .where(Course.id == bindparam("course_id"))
        .order_by(Module.position, Lesson.position)
    )


def course_progress(*, user_id: int, course_id: int, role: str | None = "student") -> dict:
    """Per-lesson completion, per-module quiz status and the next lesson for an enrolled student.

    One query: the course (always, to tell 404 from 403), the caller's active enrollment, and, when
    enrolled, the outline with the caller's completion per lesson and quiz counts per module
    (never the answers). 404 if the caller may not see the course, 403 unless enrolled.
    """
    with read_connection() as connection:
        rows = connection.execute(_progress_stmt(), {"user_id": user_id, "course_id": course_id}).all()
    # A course unpublished after approval (it keeps approved_at) stays open to the students enrolled in it.
    if not rows or not (
        rows[0].status == "approved"
        or role == "admin"
        or rows[0].instructor_id == user_id
        or (rows[0].enrolled_at is not None and rows[0].approved_at is not None)
    ):
        raise not_found("Course", course_id)
    head = rows[0]
    if head.enrolled_at is None:
        raise Forbidden("Enroll in this course first")
    modules: dict[int, dict] = {}
    next_lesson = None
    completed = total = quizzes_total = quizzes_passed = 0
    for row in rows:
        if row.m_id is None:
            continue
        module = modules.get(row.m_id)
        if module is None:
            module = modules[row.m_id] = {
                "id": row.m_id,
                "title": row.m_title,
                "position": row.m_position,
                "completed_lessons": 0,
                "total_lessons": 0,
                "quizzes": {"total": row.quiz_total, "passed": row.quiz_passed},
                "lessons": [],
            }
            quizzes_total += row.quiz_total
            quizzes_passed += row.quiz_passed
        if row.l_id is None:
            continue
        finished = row.l_completed_at
        module["lessons"].append(
            {
                "id": row.l_id,
                "title": row.l_title,
                "position": row.l_position,
                "duration_seconds": row.duration_seconds,
                "completed": finished is not None,
                "completed_at": finished,
            }
        )
        module["total_lessons"] += 1
        total += 1
        if finished is not None:
            module["completed_lessons"] += 1
            completed += 1
        elif next_lesson is None:
            next_lesson = {
                "id": row.l_id,
                "module_id": row.m_id,
                "title": row.l_title,
                "position": row.l_position,
            }
    return {
        "course_id": head.id,
        "title": head.title,
        "enrolled_at": head.enrolled_at,
        "completed_at": head.completed_at,
        "progress": {
            "completed_lessons": completed,
            "total_lessons": total,
            "percent": percent(completed, total),
        },
        "quizzes": {"total": quizzes_total, "passed": quizzes_passed},
        "next_lesson": next_lesson,
        "modules": list(modules.values()),
    }


def lock_enrollment(enrollment_id: int) -> bool:
    """Lock the (still active) enrollment row until commit; False if it is no longer active.

    Every write that can complete a course (lesson completion, quiz attempt) takes this lock first,
    so one student's writes in one course run one at a time and each sees the others' committed
    rows: the completion check can then run inside the same transaction. Only the enrollment row
    is locked (never the course or the user), so other students never wait.
    """
    return execute(_lock_stmt(is_postgres()), {"enrollment_id": enrollment_id}).first() is not None


@built_once
def _lock_stmt(row_locks: bool):
    stmt = select(Enrollment.id).where(
        Enrollment.id == bindparam("enrollment_id"), Enrollment.status == "active"
    )
    # SQLite has no row locks; its database-wide write lock serialises writers instead.
    return stmt.with_for_update(of=Enrollment, key_share=True) if row_locks else stmt


@built_once
def _lock_and_record_stmt():
    """PostgreSQL: lock_enrollment and the completion's insert in one round trip:

    WITH locked AS (SELECT id FROM enrollments WHERE id = :enrollment_id AND status = 'active'
                    FOR NO KEY UPDATE),
         inserted AS (INSERT INTO lesson_progress ... SELECT ... FROM locked
                      ON CONFLICT DO NOTHING RETURNING id)
    SELECT locked.id, inserted.id AS inserted FROM locked LEFT JOIN inserted ON true

    The insert reads its row from `locked`, so it runs once the lock is held; no row: the enrollment
    is not active; `inserted` NULL: the lesson was recorded already (by a call that held the lock
    and committed). The statements after this one (award, stamp) see everything committed before.
    """
    from sqlalchemy.dialects.postgresql import insert

    locked = _lock_stmt(True).cte("locked")
    table = LessonProgress.__table__
    columns = ("user_id", "lesson_id", "course_id", "completed_at")
    row = select(*(bindparam(name, type_=table.c[name].type) for name in columns)).select_from(locked)
    inserted = (
        insert(table)
        .from_select(list(columns), row)
        .on_conflict_do_nothing()
        .returning(table.c.id)
        .cte("inserted")
    )
    return (
        select(locked.c.id, inserted.c.id.label("inserted")).select_from(locked).outerjoin(inserted, true())
    )


@built_once
def _lesson_state_stmt():
    """The lesson's course, the caller's active enrollment and their completion of it, if any."""
    user_id = bindparam("user_id")
    return (
        select(
            Lesson.course_id,
            Course.status,
            Course.instructor_id,
            Course.approved_at,
            Course.domain,
            Enrollment.id.label("enrolled"),
            Enrollment.completed_at,
            LessonProgress.completed_at.label("done_at"),
        )
        .join(Course, Course.id == Lesson.course_id)
        .outerjoin(
            Enrollment,
            and_(
                Enrollment.course_id == Lesson.course_id,
                Enrollment.user_id == user_id,
                Enrollment.status == "active",
            ),
        )
        .outerjoin(
            LessonProgress, and_(LessonProgress.user_id == user_id, LessonProgress.lesson_id == Lesson.id)
        )
        .where(Lesson.id == bindparam("lesson_id"))
    )


@dataclass
class LessonStep:
    """A lesson completion as recorded by `record_lesson_completion`, and its answer to the student."""

    lesson_id: int
    course_id: int
    domain: str | None
    completed_at: datetime
    course_was_complete: bool
    already_completed: bool

    def answer(self, *, xp_awarded: int = 0, course_newly_completed: bool = False) -> dict:
        return {
            "lesson_id": self.lesson_id,
            "course_id": self.course_id,
            "completed": True,
            "completed_at": self.completed_at,
            "already_completed": self.already_completed,
            "xp_awarded": xp_awarded,
            "course_completed": course_newly_completed or self.course_was_complete,
            "course_newly_completed": course_newly_completed,
        }


def record_lesson_completion(*, user_id: int, lesson_id: int, role: str | None = "student") -> LessonStep:
    """Store that an enrolled student finished a lesson, under the enrollment lock; idempotent.

    A new completion is left uncommitted (the completion flow awards XP, stamps the course and
    commits); a repeated call is a single read outside any transaction and comes back `already_completed`.
    404 if the caller may not see the lesson, 403 unless enrolled.
    """
    # Read outside the transaction (one round trip, no BEGIN/COMMIT): a repeated call, the common case,
    # ends here. Under READ COMMITTED this sees what a first statement of the transaction would.
    with read_connection() as connection:
        row = connection.execute(
            _lesson_state_stmt(), {"user_id": user_id, "lesson_id": lesson_id}
        ).one_or_none()
    if row is None or not (
        row.status == "approved"
        or role == "admin"
        or row.instructor_id == user_id
        or (row.enrolled is not None and row.approved_at is not None)
    ):
        raise not_found("Lesson", lesson_id)
    if row.enrolled is None:
        raise Forbidden("Enroll in this course first")
    step = LessonStep(
        lesson_id=lesson_id,
        course_id=row.course_id,
        domain=row.domain,
        completed_at=row.done_at,
        course_was_complete=row.completed_at is not None,
        already_completed=True,
    )
    if row.done_at is not None:
        return step
    now = utcnow()
    values = {"user_id": user_id, "lesson_id": lesson_id, "course_id": row.course_id, "completed_at": now}
    if is_postgres():
        found = execute(_lock_and_record_stmt(), {"enrollment_id": row.enrolled, **values}).first()
        if found is None:  # the enrollment is no longer active
            raise Forbidden("Enroll in this course first")
        inserted = found.inserted is not None
    else:  # SQLite has no INSERT in a WITH clause (nor row locks: its write lock serialises writers)
        if not lock_enrollment(row.enrolled):
            raise Forbidden("Enroll in this course first")
        inserted = insert_ignore(LessonProgress, **values)
    if not inserted:
        # A concurrent call recorded it first (it held the lock, so it has committed).
        step.completed_at, course_done = db.session.execute(
            select(LessonProgress.completed_at, Enrollment.completed_at)
            .join(Enrollment, Enrollment.id == row.enrolled)
            .where(LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson_id)
        ).one()
        step.course_was_complete = course_done is not None
        end_read()  # the insert changed nothing; this also releases the lock
        return step
    step.completed_at, step.already_completed = now, False
    return step


def stamp_if_complete(*, user_id: int, course_id: int) -> bool:
    """Stamp the active enrollment complete if every lesson is done and every quiz passed; no commit.

    One conditional UPDATE: the counts are subqueries of its WHERE clause, so it changes a row only
    for the one transaction that newly completes the course. A course without lessons never
    completes. Callers that may race with the student's other writes hold `lock_enrollment`.
    """
    stamped = (
        execute(_stamp_stmt(), {"p_user_id": user_id, "p_course_id": course_id, "p_now": utcnow()}).rowcount
        == 1
    )
    if stamped:  # the course-count badges, in the same unit of work
        record_course_completion(user_id=user_id)
    return stamped


@built_once
def _stamp_stmt():
    # Not named after columns: update() reserves those names for its SET clause.
    user_id, course_id = bindparam("p_user_id"), bindparam("p_course_id")
    lessons = select(func.count()).select_from(Lesson).where(Lesson.course_id == course_id).scalar_subquery()
    lessons_done = (
        select(func.count())
        .select_from(LessonProgress)
        .where(LessonProgress.user_id == user_id, LessonProgress.course_id == course_id)
        .scalar_subquery()
    )
    quizzes = select(func.count()).select_from(Quiz).where(Quiz.course_id == course_id).scalar_subquery()
    quizzes_passed = (
        select(func.count(func.distinct(QuizResult.quiz_id)))
        .where(
            QuizResult.user_id == user_id,
            QuizResult.course_id == course_id,
            QuizResult.is_correct.is_(True),
            QuizResult.quiz_id.in_(select(Quiz.id).where(Quiz.course_id == course_id)),
        )
        .scalar_subquery()
    )
    return (
        update(Enrollment)
        .where(
            Enrollment.user_id == user_id,
            Enrollment.course_id == course_id,
            Enrollment.status == "active",
            Enrollment.completed_at.is_(None),
            lessons > 0,
            lessons_done >= lessons,
            quizzes_passed >= quizzes,
        )
        .values(completed_at=bindparam("p_now", type_=Enrollment.completed_at.type))
        .execution_options(synchronize_session=False)
    )
