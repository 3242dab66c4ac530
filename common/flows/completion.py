"""Progress that may complete a course: record it, award XP, stamp the completion, commit, certify."""

from __future__ import annotations

from common.certificates.service import request_certificate
from common.db import unit_of_work
from common.gamification.service import award_xp
from common.learning import service as learning
from common.quizzes import service as quizzes


def complete_lesson(*, user_id: int, lesson_id: int, role: str | None = "student") -> dict:
    """Record that an enrolled student finished a lesson; idempotent. Commits once.

    The first call stores the completion, awards `lesson_complete` XP and stamps the course complete
    if this was the last thing missing, all in one transaction (under the enrollment lock); a
    repeated call is a single read and changes nothing. A newly completed course asks for its
    certificate after the commit.
    """
    with unit_of_work():
        step = learning.record_lesson_completion(user_id=user_id, lesson_id=lesson_id, role=role)
        if step.already_completed:
            return step.answer()  # a read outside the transaction: nothing is left to commit
        xp, newly = _award_and_stamp(
            user_id=user_id,
            course_id=step.course_id,
            xp_type="lesson_complete",
            source_id=lesson_id,
            domain=step.domain,
            course_was_complete=step.course_was_complete,
        )
    _certify_if(newly, user_id=user_id, course_id=step.course_id)
    return step.answer(xp_awarded=xp, course_newly_completed=newly)


def submit_attempt(
    *, quiz_id: int, user_id: int, role: str | None, selected_option: int
) -> quizzes.AttemptOutcome:
    """Record an enrolled student's answer; the first correct one awards `quiz_pass` XP once.

    A correct answer after an earlier correct one awards nothing (one statement fewer).

    The attempt, any XP and, when it was the last thing missing, the course completion commit
    together (under the enrollment lock); a newly completed course then asks for its certificate.
    Refusals are those of `quizzes.record_attempt` (404, 403, 422, 409).
    """
    with unit_of_work():
        outcome = quizzes.record_attempt(
            quiz_id=quiz_id, user_id=user_id, role=role, selected_option=selected_option
        )
        course_id = outcome.result["course_id"]
        if outcome.result["is_correct"]:
            # The first correct answer awards the XP; a later one would find it awarded by that
            # answer's transaction (the count under the lock says one exists) and only re-checks the
            # completion. The xp_events unique key makes this exactly-once even without the lock.
            outcome.xp_awarded, outcome.course_completed = _award_and_stamp(
                user_id=user_id,
                course_id=course_id,
                xp_type="quiz_pass",
                source_id=quiz_id,
                domain=outcome.domain,
                course_was_complete=outcome.course_was_complete,
                award=not outcome.passed_before,
            )
    _certify_if(outcome.course_completed, user_id=user_id, course_id=course_id)
    return outcome


def _award_and_stamp(
    *,
    user_id: int,
    course_id: int,
    xp_type: str,
    source_id: int,
    domain: str | None,
    course_was_complete: bool,
    award: bool = True,
) -> tuple[int, bool]:
    """The XP of this step (none without `award`) and whether it newly completed the course; in the
    caller's unit of work."""
    xp = (
        award_xp(user_id=user_id, type=xp_type, source_id=source_id, course_id=course_id, domain=domain)
        if award
        else 0
    )
    newly = not course_was_complete and learning.stamp_if_complete(user_id=user_id, course_id=course_id)
    return xp, newly


def _certify_if(newly_completed: bool, *, user_id: int, course_id: int) -> None:
    """After the commit: a course just completed gets its certificate (issued once, render queued)."""
    if newly_completed:
        request_certificate(user_id=user_id, course_id=course_id)
