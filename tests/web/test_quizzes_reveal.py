"""A quiz's correct_option is revealed only after a correct attempt or when no attempts are left,
in the attempt's answer and in /me/quiz-results alike (so max_attempts really limits guessing)."""

from __future__ import annotations

from common.catalog.models import Module
from common.db import db
from common.quizzes.models import QuizResult
from tests.factories import auth_headers, enroll, make_course, make_quiz, make_user


def _setup(max_attempts):
    course = make_course(make_user("instructor"))
    quiz = make_quiz(course.modules[0], options=["a", "b", "c"], correct_option=2, max_attempts=max_attempts)
    student = make_user()
    enroll(student, course)
    return quiz, auth_headers(student)


def _attempt(client, quiz, headers, option):
    response = client.post(
        f"/api/quizzes/{quiz.id}/attempts", json={"selected_option": option}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _listed(client, headers):
    return [
        r["correct_option"] for r in client.get("/api/me/quiz-results", headers=headers).get_json()["items"]
    ]


def test_wrong_answers_hide_it_until_the_last_attempt(client):
    quiz, headers = _setup(max_attempts=3)
    assert [_attempt(client, quiz, headers, 0)["correct_option"] for _ in range(2)] == [None, None]
    assert _listed(client, headers) == [None, None]
    last = _attempt(client, quiz, headers, 1)
    assert (last["correct_option"], last["attempts_left"], last["is_correct"]) == (2, 0, False)
    assert _listed(client, headers) == [2, 2, 2]
    # The stored rows keep the answer of their time whatever the caller was shown.
    assert {r.correct_option for r in db.session.query(QuizResult)} == {2}


def test_a_correct_attempt_reveals_it_then_and_after(client):
    quiz, headers = _setup(max_attempts=None)
    assert _attempt(client, quiz, headers, 1)["correct_option"] is None
    assert _attempt(client, quiz, headers, 2)["correct_option"] == 2
    assert _attempt(client, quiz, headers, 0)["correct_option"] == 2  # passed before: nothing left to hide
    assert _listed(client, headers) == [2, 2, 2]


def test_unlimited_attempts_never_reveal_on_a_wrong_answer(client):
    quiz, headers = _setup(max_attempts=None)
    assert {_attempt(client, quiz, headers, 0)["correct_option"] for _ in range(4)} == {None}
    assert set(_listed(client, headers)) == {None}


def test_revealing_one_quiz_keeps_another_hidden(client):
    quiz, headers = _setup(max_attempts=1)
    other = make_quiz(
        db.session.get(Module, quiz.module_id), options=["x", "y"], correct_option=1, max_attempts=5
    )
    _attempt(client, quiz, headers, 0)
    _attempt(client, other, headers, 0)
    assert _listed(client, headers) == [None, 2]
