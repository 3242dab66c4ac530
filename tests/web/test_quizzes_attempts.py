"""Quiz attempts and results: roles, limits, XP exactly once (also under concurrency), completion."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from common.accounts.models import User
from common.catalog.models import Lesson
from common.db import db
from common.gamification.models import XpEvent
from common.learning.models import Enrollment, LessonProgress
from common.quizzes.models import Quiz, QuizResult
from tests.concurrency import run_together
from tests.factories import auth_headers, enroll, make_course, make_quiz, make_user
from tests.web.quizzes_world import find_key


@pytest.fixture
def setup():
    owner = make_user("instructor")
    course = make_course(owner, domain="data-science")
    module = course.modules[0]
    quiz = make_quiz(module, options=["red", "green", "blue"], correct_option=1)
    student = make_user("student")
    enroll(student, course)
    return {
        "owner": owner,
        "course": course,
        "module": module,
        "quiz": quiz,
        "student": student,
        "headers": auth_headers(student),
    }


def attempt(client, quiz_id, headers, selected=1):
    return client.post(
        f"/api/quizzes/{quiz_id}/attempts", json={"selected_option": selected}, headers=headers
    )


def result_count() -> int:
    return db.session.execute(select(func.count()).select_from(QuizResult)).scalar_one()


def xp_events(user_id):
    return db.session.execute(select(XpEvent).where(XpEvent.user_id == user_id)).scalars().all()


def xp_total(user_id) -> int:
    db.session.expire_all()
    return db.session.get(User, user_id).xp_total


def test_wrong_answer_is_recorded_without_revealing_the_answer(client, setup):
    resp = attempt(client, setup["quiz"].id, setup["headers"], selected=2)
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["quiz_id"] == setup["quiz"].id and body["selected_option"] == 2
    assert body["is_correct"] is False and body["correct_option"] is None
    assert (body["attempts_used"], body["attempts_left"], body["max_attempts"]) == (1, None, None)
    assert (body["xp_awarded"], body["passed"], body["course_completed"]) == (0, False, False)
    assert body["timestamp"].endswith("Z") and isinstance(body["id"], int)
    row = db.session.get(QuizResult, body["id"])
    assert (row.user_id, row.quiz_id, row.module_id, row.course_id) == (
        setup["student"].id,
        setup["quiz"].id,
        setup["module"].id,
        setup["course"].id,
    )
    assert (row.selected_option, row.is_correct, row.correct_option) == (2, False, 1)
    assert xp_events(setup["student"].id) == [] and xp_total(setup["student"].id) == 0


def test_first_correct_answer_awards_xp_once(client, setup):
    student_id = setup["student"].id
    first = attempt(client, setup["quiz"].id, setup["headers"]).get_json()
    assert first["is_correct"] is True and first["xp_awarded"] == 20 and first["passed"] is True
    again = attempt(client, setup["quiz"].id, setup["headers"]).get_json()
    assert again["is_correct"] is True and again["xp_awarded"] == 0 and again["attempts_used"] == 2
    events = xp_events(student_id)
    assert [(e.type, e.points, e.source_id, e.course_id, e.domain) for e in events] == [
        ("quiz_pass", 20, setup["quiz"].id, setup["course"].id, "data-science")
    ]
    assert xp_total(student_id) == 20 and result_count() == 2


def test_wrong_then_right_keeps_passed_and_later_wrong_answers_do_not_unpass(client, setup):
    quiz_id = setup["quiz"].id
    assert attempt(client, quiz_id, setup["headers"], 0).get_json()["passed"] is False
    assert attempt(client, quiz_id, setup["headers"], 1).get_json()["xp_awarded"] == 20
    later = attempt(client, quiz_id, setup["headers"], 2).get_json()
    assert later["is_correct"] is False and later["passed"] is True and later["xp_awarded"] == 0


@pytest.mark.parametrize("role", ["owner", "admin", "other_instructor", "stranger"])
def test_attempt_refused_with_403_for_anyone_but_enrolled_students(client, setup, role):
    user = (
        setup["owner"]
        if role == "owner"
        else make_user({"admin": "admin", "other_instructor": "instructor", "stranger": "student"}[role])
    )
    resp = attempt(client, setup["quiz"].id, auth_headers(user))
    assert resp.status_code == 403
    assert not find_key(resp.get_json(), "correct_option") and "is_correct" not in resp.get_json()
    assert result_count() == 0 and db.session.execute(select(XpEvent)).first() is None


def test_attempt_after_enrollment_revoked_is_403(client, setup):
    enrollment = db.session.execute(select(Enrollment)).scalar_one()
    enrollment.status = "revoked"
    db.session.commit()
    assert attempt(client, setup["quiz"].id, setup["headers"]).status_code == 403
    assert result_count() == 0


def test_attempt_anonymous_is_401(client, setup):
    resp = client.post(f"/api/quizzes/{setup['quiz'].id}/attempts", json={"selected_option": 1})
    assert resp.status_code == 401 and result_count() == 0


def test_attempt_unknown_quiz_is_404(client, setup):
    assert attempt(client, 987654, setup["headers"]).status_code == 404


@pytest.mark.parametrize("status", ["draft", "pending", "rejected"])
def test_attempt_at_a_course_the_student_may_not_see_is_404(client, setup, status):
    setup["course"].status = status
    db.session.commit()
    resp = attempt(client, setup["quiz"].id, setup["headers"])
    assert resp.status_code == 404 and not find_key(resp.get_json(), "correct_option")
    assert attempt(client, setup["quiz"].id, auth_headers(make_user("instructor"))).status_code == 404
    assert result_count() == 0


BAD_ATTEMPTS = {
    "out of range": {"selected_option": 3},
    "far out of range": {"selected_option": 10**12},
    "negative": {"selected_option": -1},
    "string": {"selected_option": "1"},
    "word": {"selected_option": "green"},
    "bool": {"selected_option": True},
    "float": {"selected_option": 1.0},
    "null": {"selected_option": None},
    "list": {"selected_option": [1]},
    "missing": {},
    "unknown field": {"selected_option": 1, "is_correct": True},
}


@pytest.mark.parametrize("payload", BAD_ATTEMPTS.values(), ids=BAD_ATTEMPTS.keys())
def test_bad_selected_option_is_422_and_stores_nothing(client, setup, payload):
    resp = client.post(f"/api/quizzes/{setup['quiz'].id}/attempts", json=payload, headers=setup["headers"])
    assert resp.status_code == 422
    assert resp.get_json()["errors"] and not find_key(resp.get_json(), "correct_option")
    assert result_count() == 0 and xp_events(setup["student"].id) == []


def test_attempt_with_a_non_json_body_is_a_clear_4xx(client, setup):
    resp = client.post(
        f"/api/quizzes/{setup['quiz'].id}/attempts",
        data="{",
        headers={**setup["headers"], "Content-Type": "application/json"},
    )
    assert resp.status_code == 400 and result_count() == 0


def test_attempt_limit_then_409(client, setup):
    quiz = make_quiz(setup["module"], options=["a", "b"], correct_option=0, max_attempts=2)
    first = attempt(client, quiz.id, setup["headers"], 1).get_json()
    assert (first["attempts_used"], first["attempts_left"], first["max_attempts"]) == (1, 1, 2)
    second = attempt(client, quiz.id, setup["headers"], 0).get_json()
    assert (second["attempts_used"], second["attempts_left"], second["is_correct"]) == (2, 0, True)
    third = attempt(client, quiz.id, setup["headers"], 0)
    assert third.status_code == 409 and third.get_json()["code"] == 409
    assert not find_key(third.get_json(), "correct_option")
    assert result_count() == 2
    # The limit is per student: a classmate still has both attempts.
    classmate = make_user("student")
    enroll(classmate, setup["course"])
    assert attempt(client, quiz.id, auth_headers(classmate), 1).status_code == 201
    # Raising the limit lets the first student try again.
    db.session.expire_all()
    quiz.max_attempts = 3
    db.session.commit()
    assert attempt(client, quiz.id, setup["headers"], 1).status_code == 201


def test_limit_is_checked_before_the_option_is_judged(client, setup):
    quiz = make_quiz(setup["module"], options=["a", "b"], correct_option=0, max_attempts=1)
    assert attempt(client, quiz.id, setup["headers"], 1).status_code == 201
    assert attempt(client, quiz.id, setup["headers"], 0).status_code == 409
    assert xp_events(setup["student"].id) == []


def _race(app, quiz_id, headers, selected, threads=8):
    """Fire `threads` identical attempts at the same moment, each from its own thread and app context."""

    def attempt_once():
        resp = app.test_client().post(
            f"/api/quizzes/{quiz_id}/attempts", json={"selected_option": selected}, headers=headers
        )
        return resp.status_code, resp.get_json()

    return run_together(app, [attempt_once] * threads)


def test_concurrent_first_correct_attempts_award_xp_once(app, setup):
    responses = _race(app, setup["quiz"].id, setup["headers"], selected=1)
    assert sorted(code for code, _ in responses) == [201] * 8
    awarded = [body["xp_awarded"] for _, body in responses]
    assert sorted(awarded) == [0] * 7 + [20]
    assert sorted(body["attempts_used"] for _, body in responses) == list(range(1, 9))
    db.session.expire_all()
    events = xp_events(setup["student"].id)
    assert len(events) == 1 and events[0].type == "quiz_pass" and events[0].source_id == setup["quiz"].id
    assert xp_total(setup["student"].id) == 20 and result_count() == 8


def test_concurrent_attempts_never_exceed_max_attempts(app, setup):
    quiz = make_quiz(setup["module"], options=["a", "b"], correct_option=0, max_attempts=2)
    responses = _race(app, quiz.id, setup["headers"], selected=0)
    assert sorted(code for code, _ in responses) == [201, 201] + [409] * 6
    assert result_count() == 2
    assert xp_total(setup["student"].id) == 20 and len(xp_events(setup["student"].id)) == 1


# --- GET /me/quiz-results --------------------------------------------------------------------


def test_results_are_own_newest_first_and_filterable(client, setup):
    course, module, quiz, headers = setup["course"], setup["module"], setup["quiz"], setup["headers"]
    other_module_quiz = make_quiz(course.modules[0], question="Same module, second quiz")
    second_course = make_course(setup["owner"], modules=2, quizzes=1)
    enroll(setup["student"], second_course)
    far_module = second_course.modules[1]
    far_quiz_id = db.session.execute(select(Quiz.id).where(Quiz.module_id == far_module.id)).scalar_one()
    ids = [
        attempt(client, quiz.id, headers, 0).get_json()["id"],
        attempt(client, other_module_quiz.id, headers, 0).get_json()["id"],
        attempt(client, far_quiz_id, headers, 0).get_json()["id"],
    ]
    # A classmate's attempt never shows up.
    classmate = make_user("student")
    enroll(classmate, course)
    attempt(client, quiz.id, auth_headers(classmate), 1)

    def ids_for(query=""):
        resp = client.get(f"/api/me/quiz-results{query}", headers=headers)
        assert resp.status_code == 200
        return [r["id"] for r in resp.get_json()["items"]]

    assert ids_for() == ids[::-1]
    assert ids_for(f"?course_id={course.id}") == ids[1::-1]
    assert ids_for(f"?module_id={module.id}") == ids[1::-1]
    assert ids_for(f"?module_id={far_module.id}") == [ids[2]]
    assert ids_for(f"?quiz_id={quiz.id}") == [ids[0]]
    assert ids_for(f"?course_id={course.id}&quiz_id={far_quiz_id}") == []
    assert ids_for("?course_id=999999") == []
    item = client.get("/api/me/quiz-results", headers=headers).get_json()["items"][-1]
    assert set(item) == {
        "id",
        "quiz_id",
        "module_id",
        "course_id",
        "selected_option",
        "is_correct",
        "correct_option",
        "timestamp",
    }
    assert (item["quiz_id"], item["selected_option"], item["is_correct"], item["correct_option"]) == (
        quiz.id,
        0,
        False,
        None,
    )  # not passed, attempts unlimited: the answer stays hidden


def test_results_are_paginated(client, setup):
    for _ in range(5):
        attempt(client, setup["quiz"].id, setup["headers"], 0)
    resp = client.get("/api/me/quiz-results?per_page=2&page=3", headers=setup["headers"])
    body = resp.get_json()
    assert (body["total"], body["pages"], body["page"], len(body["items"])) == (5, 3, 3, 1)
    assert 'rel="first"' in resp.headers["Link"]


@pytest.mark.parametrize("query", ["?course_id=abc", "?quiz_id=0", "?per_page=0", "?per_page=500", "?page=x"])
def test_results_bad_query_is_422(client, setup, query):
    assert client.get(f"/api/me/quiz-results{query}", headers=setup["headers"]).status_code == 422


@pytest.mark.parametrize("role", ["instructor", "admin"])
def test_results_for_non_students_is_403(client, setup, role):
    assert client.get("/api/me/quiz-results", headers=auth_headers(make_user(role))).status_code == 403


def test_results_anonymous_is_401(client, setup):
    assert client.get("/api/me/quiz-results").status_code == 401


def test_results_empty_for_a_new_student(client, setup):
    body = client.get("/api/me/quiz-results", headers=auth_headers(make_user("student"))).get_json()
    assert (body["items"], body["total"], body["pages"]) == ([], 0, 0)


# --- course completion -----------------------------------------------------------------------


def _finish_lessons(student, course):
    for lesson in db.session.execute(select(Lesson).where(Lesson.course_id == course.id)).scalars():
        db.session.add(LessonProgress(user_id=student.id, lesson_id=lesson.id, course_id=course.id))
    db.session.commit()


def _completed_at(student, course):
    db.session.expire_all()
    return db.session.execute(
        select(Enrollment.completed_at).where(
            Enrollment.user_id == student.id, Enrollment.course_id == course.id
        )
    ).scalar_one()


def test_correct_final_quiz_after_all_lessons_completes_the_course(client, setup):
    student, course = setup["student"], setup["course"]
    second = make_quiz(setup["module"], options=["a", "b"], correct_option=1)
    _finish_lessons(student, course)
    assert attempt(client, setup["quiz"].id, setup["headers"], 1).get_json()["course_completed"] is False
    assert attempt(client, second.id, setup["headers"], 0).get_json()["course_completed"] is False
    assert _completed_at(student, course) is None
    body = attempt(client, second.id, setup["headers"], 1).get_json()
    assert body["is_correct"] is True and body["course_completed"] is True
    assert _completed_at(student, course) is not None


def test_passing_every_quiz_with_lessons_left_does_not_complete(client, setup):
    body = attempt(client, setup["quiz"].id, setup["headers"], 1).get_json()
    assert body["is_correct"] is True and body["course_completed"] is False
    assert _completed_at(setup["student"], setup["course"]) is None


def test_a_correct_answer_to_a_passed_quiz_still_rechecks_the_completion(client, setup):
    """The award is skipped once the quiz is passed, not the completion check: a course whose last
    missing quiz was deleted completes at the student's next correct answer."""
    course, headers = setup["course"], setup["headers"]
    other = make_quiz(setup["module"], options=["a", "b"], correct_option=0)
    other_id = other.id
    for lesson_id in db.session.execute(select(Lesson.id).where(Lesson.course_id == course.id)).scalars():
        assert client.post(f"/api/lessons/{lesson_id}/complete", headers=headers).status_code == 200
    first = attempt(client, setup["quiz"].id, headers).get_json()
    assert first["course_completed"] is False  # the other quiz is still missing
    owner = auth_headers(setup["owner"])
    assert client.delete(f"/api/quizzes/{other_id}", headers=owner).status_code == 204
    again = attempt(client, setup["quiz"].id, headers).get_json()
    assert again["xp_awarded"] == 0 and again["course_completed"] is True
    db.session.expire_all()
    enrollment = db.session.execute(
        select(Enrollment).where(Enrollment.user_id == setup["student"].id, Enrollment.course_id == course.id)
    ).scalar_one()
    assert enrollment.completed_at is not None
