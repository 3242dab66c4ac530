"""Quiz rules: authoring MCQs on owned modules, attempts by enrolled students, results and pass counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Integer, and_, bindparam, case, func, insert, or_, select, true

from common.admin import audit
from common.catalog import access
from common.catalog.models import Course
from common.db import built_once, db, end_read, execute, is_postgres, utcnow
from common.errors import Conflict, Forbidden, ValidationError, not_found
from common.learning.models import Enrollment
from common.pagination import Page, paginate
from common.quizzes.models import Quiz, QuizResult

MIN_OPTIONS = 2
MAX_OPTIONS = 10
OPTION_MAX_LENGTH = 500
QUESTION_MAX_LENGTH = 2000


def attempts_left(max_attempts: int | None, attempts_used: int) -> int | None:
    """The attempts a student still has at a quiz: None when unlimited, never below 0."""
    return None if max_attempts is None else max(max_attempts - attempts_used, 0)


@dataclass
class QuizStatus:
    """One student's standing on one quiz (for the student's quiz list)."""

    attempts_used: int = 0
    passed: bool = False
    attempts_left: int | None = None


@dataclass
class AttemptOutcome:
    """A stored attempt (as plain values) plus what the student needs next: attempts left and XP earned."""

    result: dict
    max_attempts: int | None
    attempts_used: int
    passed: bool
    # A correct attempt before this one (the count under the enrollment lock): its transaction already
    # awarded the quiz's XP and checked the course for completion.
    passed_before: bool = False
    xp_awarded: int = 0
    course_completed: bool = False
    # What the completion flow needs after a correct answer (not part of the answer to the student).
    domain: str | None = field(default=None, repr=False)
    course_was_complete: bool = field(default=False, repr=False)

    @property
    def attempts_left(self) -> int | None:
        return attempts_left(self.max_attempts, self.attempts_used)


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError("Validation failed", errors={"json": {field: [message]}})


def _clean_options(options) -> list[str]:
    """2–10 trimmed, non-empty, distinct strings; the service re-checks what the schema checks
    so the CLI and seed obey the same rules as the API."""
    if not isinstance(options, list) or not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise _invalid("options", f"Give between {MIN_OPTIONS} and {MAX_OPTIONS} options.")
    cleaned = []
    for option in options:
        if not isinstance(option, str) or not option.strip():
            raise _invalid("options", "Every option must be a non-empty string.")
        if len(option.strip()) > OPTION_MAX_LENGTH:
            raise _invalid("options", f"Options are at most {OPTION_MAX_LENGTH} characters.")
        cleaned.append(option.strip())
    if len({o.casefold() for o in cleaned}) != len(cleaned):
        raise _invalid("options", "Options must be distinct.")
    return cleaned


def _check_correct_option(correct_option, options: list[str]) -> int:
    if (
        isinstance(correct_option, bool)
        or not isinstance(correct_option, int)
        or not 0 <= correct_option < len(options)
    ):
        raise _invalid("correct_option", f"Must be a 0-based index into options (0–{len(options) - 1}).")
    return correct_option


def _check_max_attempts(max_attempts) -> int | None:
    if max_attempts is not None and (
        isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1
    ):
        raise _invalid("max_attempts", "Must be null (unlimited) or at least 1.")
    return max_attempts


def _check_question(question) -> str:
    if not isinstance(question, str) or not question.strip():
        raise _invalid("question", "Must not be blank.")
    if len(question.strip()) > QUESTION_MAX_LENGTH:
        raise _invalid("question", f"At most {QUESTION_MAX_LENGTH} characters.")
    return question.strip()


def visible_quiz(quiz_id: int, user_id: int | None, role: str | None) -> Quiz:
    """The quiz if the caller may see its course; NotFound otherwise (never leak existence)."""
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None:
        raise not_found("Quiz", quiz_id)
    course = db.session.get(Course, quiz.course_id)
    if not access.can_see(course, user_id, role):
        raise not_found("Quiz", quiz_id)
    return quiz


def owned_quiz(quiz_id: int, user_id: int, role: str) -> Quiz:
    """The quiz if the caller owns its course (or is an admin): 404 if invisible, 403 if visible only."""
    quiz = visible_quiz(quiz_id, user_id, role)
    if not access.is_owner_or_admin(db.session.get(Course, quiz.course_id), user_id, role):
        raise Forbidden("Only the course's instructor may change it")
    return quiz


def list_quizzes(
    *, module_id: int, user_id: int | None, role: str | None, page: int = 1, per_page: int = 20
) -> tuple[Page, bool, dict[int, QuizStatus]]:
    """A module's quizzes in order for enrolled students, the owner and admins.

    Returns (page, reveal, statuses): `reveal` says whether the caller may see correct answers
    (owner/admin only); `statuses` is the student's own standing per quiz on the page.
    """
    module = access.visible_module(module_id, user_id, role)
    access.require_content_access(module.course, user_id, role)
    reveal = access.is_owner_or_admin(module.course, user_id, role)
    stmt = select(Quiz).where(Quiz.module_id == module.id).order_by(Quiz.position, Quiz.id)
    result = paginate(stmt, page=page, per_page=per_page)
    statuses: dict[int, QuizStatus] = {}
    if not reveal and result.items:
        statuses = _statuses(user_id, result.items)
    return result, reveal, statuses


def _statuses(user_id: int, quizzes: list[Quiz]) -> dict[int, QuizStatus]:
    rows = db.session.execute(
        select(QuizResult.quiz_id, func.count(), func.max(case((QuizResult.is_correct, 1), else_=0)))
        .where(QuizResult.user_id == user_id, QuizResult.quiz_id.in_([q.id for q in quizzes]))
        .group_by(QuizResult.quiz_id)
    ).all()
    found = {quiz_id: (count, bool(passed)) for quiz_id, count, passed in rows}
    statuses = {}
    for quiz in quizzes:
        used, passed = found.get(quiz.id, (0, False))
        statuses[quiz.id] = QuizStatus(
            attempts_used=used, passed=passed, attempts_left=attempts_left(quiz.max_attempts, used)
        )
    return statuses


def create_quiz(
    *,
    module_id: int,
    user_id: int,
    role: str,
    question: str,
    options: list[str],
    correct_option: int,
    max_attempts: int | None = None,
    position: int | None = None,
) -> Quiz:
    """Add an MCQ to a module the caller owns; appended after the last quiz unless `position` is given."""
    module = access.owned_module(module_id, user_id, role)
    options = _clean_options(options)
    if position is None:
        last = db.session.execute(select(func.max(Quiz.position)).where(Quiz.module_id == module.id)).scalar()
        position = 0 if last is None else last + 1
    else:
        position = _check_position(position)
    quiz = Quiz(
        module_id=module.id,
        course_id=module.course_id,
        question=_check_question(question),
        options=options,
        correct_option=_check_correct_option(correct_option, options),
        max_attempts=_check_max_attempts(max_attempts),
        position=position,
    )
    db.session.add(quiz)
    db.session.commit()
    return quiz


UPDATABLE = ("question", "options", "correct_option", "max_attempts", "position")


def _check_position(position) -> int:
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise _invalid("position", "Must be 0 or more.")
    return position


def update_quiz(*, quiz_id: int, user_id: int, role: str, **changes) -> Quiz:
    """Change a quiz of a course the caller owns. Recorded results keep their own snapshot.

    Changing `options` so that the stored `correct_option` would fall outside them is a 422
    unless a new `correct_option` comes with them.
    """
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise _invalid(sorted(unknown)[0], "Unknown field.")
    quiz = owned_quiz(quiz_id, user_id, role)
    # Validate everything before touching the row, so a refusal leaves nothing half-changed.
    values = {}
    options = _clean_options(changes["options"]) if "options" in changes else quiz.options
    if "options" in changes and "correct_option" not in changes and quiz.correct_option >= len(options):
        raise _invalid(
            "correct_option", "The current answer falls outside the new options; give a correct_option too."
        )
    values["options"] = options
    values["correct_option"] = _check_correct_option(
        changes.get("correct_option", quiz.correct_option), options
    )
    if "question" in changes:
        values["question"] = _check_question(changes["question"])
    if "max_attempts" in changes:
        values["max_attempts"] = _check_max_attempts(changes["max_attempts"])
    if "position" in changes:
        values["position"] = _check_position(changes["position"])
    for name, value in values.items():
        setattr(quiz, name, value)
    db.session.commit()
    return quiz


def delete_quiz(*, quiz_id: int, user_id: int, role: str) -> None:
    """Delete a quiz of a course the caller owns (its attempts go with it; XP already earned stays)."""
    quiz = owned_quiz(quiz_id, user_id, role)
    attempts = db.session.execute(
        select(func.count()).select_from(QuizResult).where(QuizResult.quiz_id == quiz.id)
    ).scalar_one()
    # Students' recorded attempts go with it, so the deletion is worth a trace.
    audit.record(
        actor_id=user_id,
        action="quiz.delete",
        object_type="quiz",
        object_id=quiz.id,
        detail={
            "question": quiz.question[:200],
            "module_id": quiz.module_id,
            "course_id": quiz.course_id,
            "attempts": attempts,
        },
        before={
            "question": quiz.question[:200],
            "options": quiz.options,
            "correct_option": quiz.correct_option,
            "position": quiz.position,
        },
    )
    db.session.delete(quiz)
    db.session.commit()


def _locked_quiz(quiz_id: int, user_id: int):
    """The quiz and its course's visibility, for a student actively enrolled in that course; None if not.

    Locks only the student's enrollment row until commit (never the course, quiz or user rows), so
    one student's attempts in a course run one at a time: the attempt count, the max_attempts check
    and the course-completion check cannot interleave, while other students never wait.
    """
    return execute(_locked_quiz_stmt(is_postgres()), {"quiz_id": quiz_id, "user_id": user_id}).one_or_none()


@built_once
def _locked_quiz_stmt(row_locks: bool):
    # Built once per dialect with bound parameters: building the select costs more than running it.
    stmt = (
        select(
            Quiz.id,
            Quiz.module_id,
            Quiz.course_id,
            Quiz.options,
            Quiz.correct_option,
            Quiz.max_attempts,
            Course.status,
            Course.instructor_id,
            Course.approved_at,
            Course.domain,
            Enrollment.completed_at,
        )
        .join(Course, Course.id == Quiz.course_id)
        .join(
            Enrollment,
            and_(
                Enrollment.course_id == Quiz.course_id,
                Enrollment.user_id == bindparam("user_id"),
                Enrollment.status == "active",
            ),
        )
        .where(Quiz.id == bindparam("quiz_id"))
    )
    # SQLite has no row locks; its database-wide write lock serialises writers instead.
    return stmt.with_for_update(of=Enrollment, key_share=True) if row_locks else stmt


@built_once
def _insert_result_stmt():
    # On the table, not the mapped class: an ORM-enabled insert runs the unit-of-work persistence
    # machinery for one row, which cost more than the statement (no ORM object is wanted here).
    table = QuizResult.__table__
    return insert(table).returning(table.c.id)


def _prior_attempts():
    """The student's attempts at the quiz so far and whether one was correct: (used, passed)."""
    return select(
        func.count().label("used"),
        func.coalesce(func.max(case((QuizResult.is_correct, 1), else_=0)), 0).label("passed"),
    ).where(QuizResult.user_id == bindparam("user_id"), QuizResult.quiz_id == bindparam("quiz_id"))


@built_once
def _attempts_stmt():
    return _prior_attempts()


_RESULT_COLUMNS = (
    "quiz_id",
    "user_id",
    "module_id",
    "course_id",
    "selected_option",
    "is_correct",
    "correct_option",
    "timestamp",
)


@built_once
def _count_and_insert_stmt():
    """PostgreSQL: the prior attempts and, if one is left, the new result, in one round trip:

    WITH prior AS (SELECT count, passed ...),
         inserted AS (INSERT INTO quiz_results ... SELECT ... FROM prior WHERE a try is left RETURNING id)
    SELECT prior.used, prior.passed, inserted.id FROM prior LEFT JOIN inserted ON true

    Sent after the enrollment lock (a statement of its own): the snapshot of this statement is taken
    once the lock is held, so it counts every attempt committed before. `id` is NULL when the
    attempts are used up (nothing inserted). The count does not see this statement's own insert.
    """
    table = QuizResult.__table__
    prior = _prior_attempts().cte("prior")
    max_attempts = bindparam("max_attempts", type_=Integer)
    values = select(*(bindparam(name, type_=table.c[name].type) for name in _RESULT_COLUMNS)).where(
        or_(max_attempts.is_(None), prior.c.used < max_attempts)
    )
    inserted = (
        insert(table)
        .from_select(list(_RESULT_COLUMNS), values.select_from(prior))
        .returning(table.c.id)
        .cte("inserted")
    )
    return select(prior.c.used, prior.c.passed, inserted.c.id).select_from(prior).outerjoin(inserted, true())


def _refuse(quiz_id: int, user_id: int | None, role: str | None) -> Exception:
    """Why a caller who is not an actively enrolled student may not answer: 404 if the quiz's course
    is invisible to them (never leak existence), 403 otherwise."""
    row = db.session.execute(
        select(Course.status, Course.instructor_id)
        .join(Quiz, Quiz.course_id == Course.id)
        .where(Quiz.id == quiz_id)
    ).one_or_none()
    end_read()
    if row is None or not (
        row.status == "approved" or role == "admin" or (user_id is not None and row.instructor_id == user_id)
    ):
        return not_found("Quiz", quiz_id)
    if role != "student":
        return Forbidden("Only enrolled students answer quizzes")
    return Forbidden("Enroll in this course first")


def record_attempt(*, quiz_id: int, user_id: int, role: str | None, selected_option: int) -> AttemptOutcome:
    """Store an enrolled student's answer under the enrollment lock; left uncommitted.

    404 if the caller may not see the course, 403 unless an actively enrolled student, 422 for an
    option outside the quiz, 409 once `max_attempts` is used up (each refusal ends its transaction
    or leaves it to the caller's rollback). The completion flow then awards XP for a first correct
    answer, stamps the course if this was the last thing missing, and commits.
    """
    quiz = _locked_quiz(quiz_id, user_id) if role == "student" else None
    if quiz is None:
        raise _refuse(quiz_id, user_id, role)
    # A course unpublished after approval (it keeps approved_at) stays open to its enrolled students.
    if not (quiz.status == "approved" or quiz.instructor_id == user_id or quiz.approved_at is not None):
        raise not_found("Quiz", quiz_id)
    if (
        isinstance(selected_option, bool)
        or not isinstance(selected_option, int)
        or not 0 <= selected_option < len(quiz.options)
    ):
        end_read()  # nothing written: keep the connection's prepared statements (see end_read)
        raise _invalid(
            "selected_option", f"Must be a 0-based index into options (0–{len(quiz.options) - 1})."
        )
    is_correct = selected_option == quiz.correct_option
    recorded = {
        "quiz_id": quiz.id,
        "module_id": quiz.module_id,
        "course_id": quiz.course_id,
        "selected_option": selected_option,
        "is_correct": is_correct,
        "correct_option": quiz.correct_option,
        "timestamp": utcnow(),
    }
    if is_postgres():
        params = {"user_id": user_id, "max_attempts": quiz.max_attempts, **recorded}
        used, passed_before, result_id = execute(_count_and_insert_stmt(), params).one()
    else:  # SQLite has no INSERT in a WITH clause; its write lock serialises the two statements
        used, passed_before = execute(_attempts_stmt(), {"user_id": user_id, "quiz_id": quiz.id}).one()
        result_id = None
        if quiz.max_attempts is None or used < quiz.max_attempts:
            result_id = execute(_insert_result_stmt(), {"user_id": user_id, **recorded}).scalar_one()
    if result_id is None:
        end_read()  # nothing was written
        raise Conflict(f"All {quiz.max_attempts} attempts at this quiz are used up")
    # The right answer only once it can no longer help: after a correct attempt, or with none left.
    reveal = (
        bool(passed_before) or is_correct or (quiz.max_attempts is not None and used + 1 >= quiz.max_attempts)
    )
    recorded = {"id": result_id, **recorded, "correct_option": quiz.correct_option if reveal else None}
    return AttemptOutcome(
        result=recorded,
        max_attempts=quiz.max_attempts,
        attempts_used=used + 1,
        passed=bool(passed_before) or is_correct,
        passed_before=bool(passed_before),
        domain=quiz.domain,
        course_was_complete=quiz.completed_at is not None,
    )


def list_results(
    *,
    user_id: int,
    course_id: int | None = None,
    module_id: int | None = None,
    quiz_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """The caller's own attempts, newest first, optionally narrowed to a course, module or quiz.

    Items are plain dicts; `correct_option` is None for quizzes the caller has neither passed nor
    used up (the same rule as record_attempt), so a wrong attempt never gives the answer away.
    """
    stmt = select(QuizResult).where(QuizResult.user_id == user_id)
    if course_id is not None:
        stmt = stmt.where(QuizResult.course_id == course_id)
    if module_id is not None:
        stmt = stmt.where(QuizResult.module_id == module_id)
    if quiz_id is not None:
        stmt = stmt.where(QuizResult.quiz_id == quiz_id)
    result_page = paginate(
        stmt.order_by(QuizResult.timestamp.desc(), QuizResult.id.desc()), page=page, per_page=per_page
    )
    revealed = _revealed_quizzes(user_id, {r.quiz_id for r in result_page.items})
    result_page.items = [
        {
            "id": r.id,
            "quiz_id": r.quiz_id,
            "module_id": r.module_id,
            "course_id": r.course_id,
            "selected_option": r.selected_option,
            "is_correct": r.is_correct,
            "correct_option": r.correct_option if r.quiz_id in revealed else None,
            "timestamp": r.timestamp,
        }
        for r in result_page.items
    ]
    return result_page


def _revealed_quizzes(user_id: int, quiz_ids: set[int]) -> set[int]:
    """Of `quiz_ids`, those the user answered correctly once or has no attempts left at."""
    if not quiz_ids:
        return set()
    passed = func.max(case((QuizResult.is_correct, 1), else_=0)) == 1
    used_up = and_(Quiz.max_attempts.is_not(None), func.count() >= Quiz.max_attempts)
    return set(
        db.session.execute(
            select(QuizResult.quiz_id)
            .join(Quiz, Quiz.id == QuizResult.quiz_id)
            .where(QuizResult.user_id == user_id, QuizResult.quiz_id.in_(quiz_ids))
            .group_by(QuizResult.quiz_id, Quiz.max_attempts)
            .having(or_(passed, used_up))
        )
        .scalars()
        .all()
    )
